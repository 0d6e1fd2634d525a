"""The CJK faces' subsets: a CJK invoice is drawn from them as from the whole faces, a rarer
character still from the whole face, and the subsets are built once, the same bytes each time."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.support.legal_invoices import document, invoice, line, standard_invoice
from worker.data.countries import invoice_payment_options
from worker.documents import font_subsets
from worker.documents.font_subsets import SUBSET_FAMILIES, characters, subset_font, subsets_directory
from worker.documents.invoice_pdf import compile_document, invoice_data, invoice_pdf
from worker.domain.einvoice.model import Buyer

ISSUED = datetime(2026, 2, 1, tzinfo=UTC)
PAYMENT = invoice_payment_options(standard_invoice())


def _fonts_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize(
    ("locale", "buyer", "product", "whole_face"),
    [
        ("ja-JP", "山田商事株式会社", "クラウド基盤", "NotoSansCJKjp"),
        ("zh-CN", "北京云计算有限公司", "云服务器", "NotoSansCJKjp"),
        ("ko-KR", "한빛소프트 주식회사", "클라우드 서버", "NotoSansCJKjp"),
        ("zh-TW", "臺灣雲端股份有限公司", "雲端伺服器", "NotoSansCJKtc"),
    ],
)
def test_a_cjk_invoice_is_drawn_from_the_subset_and_reads_back(locale, buyer, product, whole_face, tmp_path) -> None:
    # Given an invoice in a CJK language to a buyer whose name is in common characters
    doc = document(invoice(line("L1", product, "100.00", "0.21")), Buyer(buyer, address=None))
    # When its PDF is built
    pdf = invoice_pdf(doc, locale=locale, payment=PAYMENT, facturx_xml=None, created_at=ISSUED)
    # Then its CJK glyphs come from the subset alone (the whole face was never read), and the
    # buyer's name reads back as written
    fonts = _fonts_of(pdf, tmp_path)
    assert "InvoiceWorkerSansCJK" in fonts
    assert whole_face not in fonts
    assert buyer in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_a_character_outside_the_subsets_comes_from_the_whole_face(tmp_path) -> None:
    # Given a Japanese buyer whose name has 髙 and 𠮷, in no national character set of the subset
    name = "髙橋𠮷野家株式会社"
    assert ord("髙") not in characters("Noto Sans CJK JP") and ord("𠮷") not in characters("Noto Sans CJK JP")
    doc = document(invoice(line("L1", "クラウド", "100.00", "0.21")), Buyer(name, address=None))
    # When its PDF is built
    pdf = invoice_pdf(doc, locale="ja-JP", payment=PAYMENT, facturx_xml=None, created_at=ISSUED)
    # Then those two are drawn from the whole face, the rest from the subset, and it reads back
    fonts = _fonts_of(pdf, tmp_path)
    assert "InvoiceWorkerSansCJKJP" in fonts and "NotoSansCJKjp" in fonts
    assert name in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


@pytest.mark.parametrize(("locale", "face"), [("ja-JP", "Noto Sans CJK JP"), ("zh-TW", "Noto Sans CJK TC")])
def test_the_subset_draws_pixel_for_pixel_what_the_whole_face_draws(locale, face) -> None:
    # Given an invoice in common characters, kana, hanzi and punctuation
    doc = document(
        invoice(line("L1", "骨 直 化 画 海 角 今 令「請求」、。", "100.00", "0.21")), Buyer("株式会社", address=None)
    )
    data = invoice_data(doc, locale=locale, payment=PAYMENT, facturx_xml=None)
    assert data["fonts"][-2:] == [SUBSET_FAMILIES[face], face]

    def page(data: dict) -> bytes:
        return compile_document(data, timestamp=int(ISSUED.timestamp()), format="png", ppi=96)

    # When page 1 is drawn with the subset first, and with the whole face alone
    # Then the two are the same pixels: the subset kept the glyphs and the `locl` forms
    assert page(data) == page({**data, "fonts": [*data["fonts"][:-2], face]})


def test_what_each_subset_keeps() -> None:
    japanese, traditional = characters("Noto Sans CJK JP"), characters("Noto Sans CJK TC")
    # Kana, JIS and GB hanzi, every Hangul syllable for the JP face (which serves zh-CN and ko)
    assert {ord(c) for c in "あア漢汉한글뷁"} <= set(japanese)
    assert len([c for c in japanese if 0xAC00 <= c <= 0xD7A3]) == 11_172
    # Big5's hanzi for the TC face, no Hangul
    assert {ord(c) for c in "臺灣雲端繁體"} <= set(traditional)
    assert not any(0xAC00 <= c <= 0xD7A3 for c in traditional)


def test_the_subsets_are_built_once_into_a_folder_named_by_what_they_are_made_of(tmp_path, monkeypatch) -> None:
    # Given a cache of its own
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(font_subsets, "_directory", None)
    # When the subsets are asked for twice
    first = subsets_directory()
    assert first is not None
    built = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    monkeypatch.setattr(font_subsets, "_directory", None)
    again = subsets_directory()
    # Then they were built once, four fonts (two faces, two weights), under the cache
    assert again == first and first.parent == tmp_path / "invoice-worker" / "fonts"
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir()} == built
    assert sorted(built) == [
        "InvoiceWorkerSansCJKJP-400.otf",
        "InvoiceWorkerSansCJKJP-700.otf",
        "InvoiceWorkerSansCJKTC-400.otf",
        "InvoiceWorkerSansCJKTC-700.otf",
    ]


def test_a_subset_comes_out_the_same_bytes_each_time() -> None:
    # Given the JP face's regular weight, when it is subset twice, then the bytes are the same
    # (a document built again after retention must be)
    source = next(s for s in font_subsets._sources() or [] if s[:2] == ("Noto Sans CJK JP", 400))
    _, _, path, index = source
    assert subset_font(path, index, "Noto Sans CJK JP") == subset_font(path, index, "Noto Sans CJK JP")


def test_with_no_cache_to_write_to_the_subsets_are_the_process_s_own(tmp_path, monkeypatch) -> None:
    # Given a cache location that cannot be a folder (a file stands there)
    blocked = tmp_path / "cache"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setattr(font_subsets, "_directory", None)
    # When the subsets are asked for, then they are built into a folder of this process's own
    directory = subsets_directory()
    assert directory is not None and directory.parent.name.startswith("invoice-worker-fonts-")
    assert len(list(directory.glob("*.otf"))) == 4
    shutil.rmtree(directory.parent)  # (the process would at its exit)

"""The raw send limit: pre-built messages sent by the worker's own SMTP client (`SmtpSender`),
with the same number of processes and connections as the pipeline, and nothing else: no queue,
no rendering, no bookkeeping. What the pipeline cannot beat on this machine and SMTP server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass

from worker.transport.smtp import SmtpConfig, SmtpSender

#: Seconds to wait for the sending processes to start and finish.
RAW_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    recipients: list[str]
    message: bytes


@dataclass(frozen=True)
class RawReport:
    messages: int
    processes: int
    connections_per_process: int
    elapsed_s: float
    accepted: int

    @property
    def emails_per_s(self) -> float:
        return self.messages / self.elapsed_s if self.elapsed_s else 0.0


async def _send_all(config: SmtpConfig, envelopes: list[Envelope]) -> int:
    sender = SmtpSender(config)
    try:
        results = await asyncio.gather(*(sender.send(e.mail_from, e.recipients, e.message) for e in envelopes))
    finally:
        await sender.close()
    return sum(all(r is not None and r.code == 250 for r in result.replies.values()) for result in results)


def _child(config: SmtpConfig, envelopes: list[Envelope], start, out) -> None:
    start.wait()
    began = time.time()
    accepted = asyncio.run(_send_all(config, envelopes))
    out.put((began, time.time(), accepted))


def measure_raw_send(config: SmtpConfig, envelopes: list[Envelope], processes: int) -> RawReport:
    """Send every envelope once, split over `processes` processes of `config.connections` each.

    Raises:
      TimeoutError: the senders did not finish within RAW_TIMEOUT_S.
    """
    context = multiprocessing.get_context("spawn")  # no inherited threads or sockets
    start, out = context.Event(), context.Queue()
    children = [
        context.Process(target=_child, args=(config, envelopes[i::processes], start, out), daemon=True)
        for i in range(processes)
    ]
    for child in children:
        child.start()
    time.sleep(0.5)  # let the children import before the clock starts
    start.set()
    try:
        spans = [out.get(timeout=RAW_TIMEOUT_S) for _ in children]
    except Exception as exc:  # queue.Empty
        raise TimeoutError("raw send did not finish") from exc
    finally:
        for child in children:
            child.join(timeout=10)
    began, ended = min(s[0] for s in spans), max(s[1] for s in spans)
    return RawReport(len(envelopes), processes, config.connections, ended - began, sum(s[2] for s in spans))

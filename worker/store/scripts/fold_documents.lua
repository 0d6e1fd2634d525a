-- Retention: drop an invoice's PDF and XML and move what builds them again (their description
-- and sealed source) into the invoice's own key (worker/store/invoice_records.py `fold`), so the
-- documents hash goes; if nothing changed since Python read it (a build, or a hold, may have come
-- in between: then nothing is done, and the caller drops the files the old way).
--
-- KEYS[1]: the invoice's documents hash (Keys.invoice_documents)
-- KEYS[2]: the invoice (Keys.invoice)
-- ARGV[1]: the description read (the hash's `meta`)
-- ARGV[2]: the sealed source read (its `source`)
-- ARGV[3]: the invoice read
-- ARGV[4]: what the invoice's key is to hold: the fold, or ARGV[3] when the invoice already
--          holds one (documents built again after an earlier fold: it keeps the first)
--
-- Returns the bytes of the files dropped (0 for none), or -1 when a key changed.
local documents, invoice = KEYS[1], KEYS[2]

local read = redis.call('HMGET', documents, 'meta', 'source', 'held')
if read[1] ~= ARGV[1] or read[2] ~= ARGV[2] or read[3] then return -1 end
if redis.call('GET', invoice) ~= ARGV[3] then return -1 end
local freed = redis.call('HSTRLEN', documents, 'pdf') + redis.call('HSTRLEN', documents, 'xml')
redis.call('DEL', documents)
if ARGV[4] ~= ARGV[3] then redis.call('SET', invoice, ARGV[4], 'KEEPTTL') end
return freed

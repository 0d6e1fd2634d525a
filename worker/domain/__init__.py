"""The pure core: billing rules, invoice windows, periods, recipients, rewards, payments, locales,
delivery states and the retry policy, bounce classification, VERP. No I/O: no Redis, SMTP, queue,
clock or file; `now` and data are passed in.
"""

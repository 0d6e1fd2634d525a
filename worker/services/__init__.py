"""The use cases: apply an event, close invoice windows, invoice periods, send, handle bounces."""

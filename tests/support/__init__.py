"""Helpers the tests share: real servers, contract events, examples. No test module imports another."""

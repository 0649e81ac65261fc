"""Helpers the tests share: waiting, the service checks, loopback servers, fault scenarios."""

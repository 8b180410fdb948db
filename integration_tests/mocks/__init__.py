"""Mock APIs served on 127.0.0.1 over real sockets, shared by the CLI, server and acceptance tests."""

"""The gRPC edge: servicers, interceptors, validation and proto mappers."""

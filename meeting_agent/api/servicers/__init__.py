"""One thin servicer per gRPC service: validate, call one service method, map back."""

"""The gRPC edge: servicers, interceptors, validation and proto mappers.

Layer: composition, below only `cli`. With `cli` it is the only package that
imports the generated protobuf code (`meeting_agent.v1`).
"""

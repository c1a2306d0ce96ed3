"""Message classes generated from proto/personalizer/v1/personalizer.proto (see personalizer_pb2)."""

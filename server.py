"""Start the meeting-agent gRPC server: `python server.py` (same as `meeting-agent serve`)."""

from meeting_agent.cli.main import serve

if __name__ == "__main__":
    serve()

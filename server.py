"""Start the meeting-agent gRPC server: `python server.py` (same as `meeting-agent serve`)."""

from meeting_agent.cli import app

if __name__ == "__main__":
    app(args=["serve"], prog_name="server.py")

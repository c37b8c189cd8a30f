// Package meetingagent is the Go client of the meeting-agent service, which turns
// meeting recordings into speaker-labelled transcripts and minutes over gRPC.
//
// The generated stubs live in package meetingagentv1
// (github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1); this package
// adds the glue every caller would otherwise write:
//
//   - [New] opens a connection with TLS (or, explicitly, plaintext), keepalive, a
//     default per-RPC timeout and a retry policy for idempotent reads carried in the
//     gRPC service config;
//   - bearer tokens travel as [credentials.PerRPCCredentials]: a static token
//     ([WithToken]) or one that a [TokenSource] refreshes before it expires
//     ([WithTokenSource]);
//   - [Client.UploadFile] streams a file in chunks with its SHA-256 and reports
//     progress;
//   - [Client.WatchUntilDone] follows a task's events, resumes from the last sequence
//     after a dropped stream and returns the finished task;
//   - [Client.ExportMinutes] renders a task's newest finished minutes;
//   - [ErrorReason], [RetryDelay], [FieldViolations] and [TaskError] turn a status
//     into something to branch on: the stable reason of its google.rpc.ErrorInfo,
//     the advice of its google.rpc.RetryInfo, the fields its google.rpc.BadRequest
//     names.
//
// Every other RPC is one call on the typed stubs that [Client] exposes (Tasks, Audio,
// Transcripts, Minutes, ...), which share the connection, the credentials, the
// default timeout and the retry policy.
//
// Errors are gRPC statuses: branch on [status.Code] and [ErrorReason], never on the
// message. The Reason constants name every reason the service gives; docs/errors.md
// in the meeting-agent repository says where each appears and what to do.
package meetingagent

package meetingagent

import (
	"errors"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error the service raises.
const ErrorDomain = "meeting-agent"

// ErrorInfo returns the google.rpc.ErrorInfo detail of err's status with the
// service's domain, or nil if err is not such a status. Wrapped errors are unwrapped.
func ErrorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range details(err) {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return info
		}
	}
	return nil
}

// ErrorReason returns the stable reason of err, such as "TOKEN_EXPIRED" or
// "UPLOAD_CHECKSUM_MISMATCH": the reason of its status's ErrorInfo with the
// service's domain. It returns "" for nil, for errors that are not gRPC statuses
// (a closed connection, a canceled context) and for statuses without ErrorInfo.
func ErrorReason(err error) string {
	return ErrorInfo(err).GetReason()
}

// RetryDelay returns how long the server advises waiting before the same call is
// retried (its google.rpc.RetryInfo) and true, or 0 and false when it gave no such
// advice. The service gives it with UNAVAILABLE and ABORTED; a call without advice
// is not worth retrying unchanged, except UNAVAILABLE (retry with backoff).
func RetryDelay(err error) (time.Duration, bool) {
	for _, d := range details(err) {
		if info, ok := d.(*errdetails.RetryInfo); ok {
			if delay := info.GetRetryDelay(); delay != nil {
				return max(delay.AsDuration(), 0), true
			}
		}
	}
	return 0, false
}

// FieldViolations returns the invalid request fields that err's google.rpc.BadRequest
// names (field paths such as "task.audio_sources[0].upload", each with a
// description), or nil.
func FieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	var violations []*errdetails.BadRequest_FieldViolation
	for _, d := range details(err) {
		if br, ok := d.(*errdetails.BadRequest); ok {
			violations = append(violations, br.GetFieldViolations()...)
		}
	}
	return violations
}

// TaskError returns why a task did not succeed, as an error that [ErrorReason] and
// [status.FromError] understand: its google.rpc.Status for a FAILED task, CANCELLED
// for a cancelled one. It returns nil for any other state.
func TaskError(task *meetingagentv1.Task) error {
	switch task.GetState() {
	case meetingagentv1.TaskState_TASK_STATE_FAILED:
		if task.GetError() == nil || task.GetError().GetCode() == int32(codes.OK) {
			return status.Errorf(codes.Unknown, "%s failed without an error", task.GetName())
		}
		return status.ErrorProto(task.GetError())
	case meetingagentv1.TaskState_TASK_STATE_CANCELLED:
		return status.Errorf(codes.Canceled, "%s was cancelled", task.GetName())
	}
	return nil
}

// details returns the decoded details of err's status, or nil.
func details(err error) []any {
	if err == nil {
		return nil
	}
	var withStatus interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &withStatus) {
		return nil
	}
	return withStatus.GRPCStatus().Details()
}

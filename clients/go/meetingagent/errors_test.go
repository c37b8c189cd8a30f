package meetingagent

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestErrorReasonAndRetryDelay(t *testing.T) {
	foreign, _ := status.New(codes.Unavailable, "upstream").WithDetails(
		&errdetails.ErrorInfo{Reason: "SERVICE_DISABLED", Domain: "googleapis.com"})
	negative, _ := status.New(codes.Aborted, "odd").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(-time.Second)})
	tests := []struct {
		name       string
		err        error
		wantReason string
		wantDelay  time.Duration
		wantAdvice bool
	}{
		{"nil", nil, "", 0, false},
		{"not a status", errors.New("connection refused"), "", 0, false},
		{"context error", context.Canceled, "", 0, false},
		{"status without details", status.Error(codes.Internal, "boom"), "", 0, false},
		{"reason", richError(codes.Unauthenticated, ReasonMissingCredentials, 0), ReasonMissingCredentials, 0, false},
		{"reason and retry", richError(codes.Unavailable, "DATABASE_UNAVAILABLE", 2*time.Second), "DATABASE_UNAVAILABLE", 2 * time.Second, true},
		{"wrapped", fmt.Errorf("creating the task: %w", richError(codes.Aborted, ReasonEtagMismatch, 500*time.Millisecond)), ReasonEtagMismatch, 500 * time.Millisecond, true},
		{"another domain", foreign.Err(), "", 0, false},
		{"negative delay", negative.Err(), "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorReason(tt.err); got != tt.wantReason {
				t.Errorf("ErrorReason = %q, want %q", got, tt.wantReason)
			}
			delay, advised := RetryDelay(tt.err)
			if delay != tt.wantDelay || advised != tt.wantAdvice {
				t.Errorf("RetryDelay = %v, %v; want %v, %v", delay, advised, tt.wantDelay, tt.wantAdvice)
			}
		})
	}
}

func TestFieldViolations(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "bad").WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonInvalidArgument, Domain: ErrorDomain},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "task.audio_sources", Description: "at least one is required"},
			{Field: "task.labels", Description: "at most 16"},
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	violations := FieldViolations(fmt.Errorf("wrapped: %w", st.Err()))
	if len(violations) != 2 || violations[0].GetField() != "task.audio_sources" || violations[1].GetField() != "task.labels" {
		t.Errorf("FieldViolations = %v", violations)
	}
	if ErrorReason(st.Err()) != ReasonInvalidArgument {
		t.Errorf("ErrorReason = %q", ErrorReason(st.Err()))
	}
	if FieldViolations(status.Error(codes.NotFound, "x")) != nil || FieldViolations(nil) != nil {
		t.Error("FieldViolations of an error without BadRequest is not nil")
	}
}

func TestTaskError(t *testing.T) {
	info, _ := anypb.New(&errdetails.ErrorInfo{Reason: ReasonAudioTooLong, Domain: ErrorDomain})
	failed := &meetingagentv1.Task{
		Name:  "tasks/t1",
		State: meetingagentv1.TaskState_TASK_STATE_FAILED,
		Error: &spb.Status{Code: int32(codes.InvalidArgument), Message: "too long", Details: []*anypb.Any{info}},
	}
	err := TaskError(failed)
	if status.Code(err) != codes.InvalidArgument || ErrorReason(err) != ReasonAudioTooLong {
		t.Errorf("TaskError(failed) = %v (reason %q)", err, ErrorReason(err))
	}
	if err := TaskError(&meetingagentv1.Task{State: meetingagentv1.TaskState_TASK_STATE_FAILED}); status.Code(err) != codes.Unknown {
		t.Errorf("TaskError(failed without error) = %v, want UNKNOWN", err)
	}
	if err := TaskError(&meetingagentv1.Task{State: meetingagentv1.TaskState_TASK_STATE_CANCELLED}); status.Code(err) != codes.Canceled {
		t.Errorf("TaskError(cancelled) = %v, want CANCELED", err)
	}
	for _, state := range []meetingagentv1.TaskState{
		meetingagentv1.TaskState_TASK_STATE_SUCCEEDED, meetingagentv1.TaskState_TASK_STATE_RUNNING,
	} {
		if err := TaskError(&meetingagentv1.Task{State: state}); err != nil {
			t.Errorf("TaskError(%v) = %v, want nil", state, err)
		}
	}
	if TaskError(nil) != nil {
		t.Error("TaskError(nil) is not nil")
	}
}

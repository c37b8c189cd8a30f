package meetingagent

import (
	"context"
	"slices"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const watchedTask = "tasks/t1"

func event(seq int64, state meetingagentv1.TaskState) *meetingagentv1.WatchTaskResponse {
	return &meetingagentv1.WatchTaskResponse{Event: &meetingagentv1.TaskEvent{
		Task: watchedTask, Sequence: seq, State: state, Type: meetingagentv1.TaskEventType_TASK_EVENT_TYPE_PROGRESS,
	}}
}

func running(seq int64) *meetingagentv1.WatchTaskResponse {
	return event(seq, meetingagentv1.TaskState_TASK_STATE_RUNNING)
}

func heartbeat(seq int64) *meetingagentv1.WatchTaskResponse {
	r := running(seq)
	r.Event.Type = meetingagentv1.TaskEventType_TASK_EVENT_TYPE_HEARTBEAT
	return r
}

// done is the terminal event, with the task when withTask is set (as the server does).
func done(seq int64, withTask bool) *meetingagentv1.WatchTaskResponse {
	r := event(seq, meetingagentv1.TaskState_TASK_STATE_SUCCEEDED)
	if withTask {
		r.Task = &meetingagentv1.Task{Name: watchedTask, State: meetingagentv1.TaskState_TASK_STATE_SUCCEEDED, LastEventSequence: seq}
	}
	return r
}

func send(stream watchStream, responses ...*meetingagentv1.WatchTaskResponse) error {
	for _, r := range responses {
		if err := stream.Send(r); err != nil {
			return err
		}
	}
	return nil
}

// watchRecorder collects what WatchUntilDone reports through its callbacks.
type watchRecorder struct {
	events     []int64
	reconnects []int64
	causes     []codes.Code
}

func (r *watchRecorder) options() *WatchOptions {
	return &WatchOptions{
		OnEvent: func(e *meetingagentv1.TaskEvent) { r.events = append(r.events, e.GetSequence()) },
		OnReconnect: func(after int64, err error) {
			r.reconnects = append(r.reconnects, after)
			r.causes = append(r.causes, status.Code(err))
		},
	}
}

func TestWatchUntilDoneResumesAfterDroppedStreams(t *testing.T) {
	tests := []struct {
		name  string
		watch func(attempt int, stream watchStream) error
		// wantAfters are the after_sequence values of the WatchTask calls the server
		// saw; wantReconnects those of the calls WatchUntilDone made to resume.
		wantAfters     []int64
		wantReconnects []int64
		wantCauses     []codes.Code
	}{
		{
			name: "connection lost",
			watch: func(attempt int, stream watchStream) error {
				if attempt == 1 {
					_ = send(stream, running(1), running(2))
					return status.Error(codes.Unavailable, "connection lost")
				}
				return send(stream, heartbeat(2), running(3), done(4, true))
			},
			wantAfters:     []int64{0, 2},
			wantReconnects: []int64{2},
			wantCauses:     []codes.Code{codes.Unavailable},
		},
		{
			name: "stream ended early, server replays an old event",
			watch: func(attempt int, stream watchStream) error {
				if attempt == 1 {
					return send(stream, running(1), running(2), running(3))
				}
				return send(stream, running(3), done(4, true))
			},
			wantAfters:     []int64{0, 3},
			wantReconnects: []int64{3},
			wantCauses:     []codes.Code{codes.Unavailable},
		},
		{
			name: "server advises a delay",
			watch: func(attempt int, stream watchStream) error {
				switch attempt {
				case 1:
					return richError(codes.Unavailable, "DATABASE_UNAVAILABLE", time.Millisecond)
				case 2:
					_ = send(stream, running(1), running(2), running(3))
					return richError(codes.Aborted, "ABORTED", time.Millisecond)
				}
				return send(stream, done(4, true))
			},
			// gRPC's retry policy repeats the call that failed before its first message;
			// WatchUntilDone resumes the one that failed after three.
			wantAfters:     []int64{0, 0, 3},
			wantReconnects: []int64{3},
			wantCauses:     []codes.Code{codes.Aborted},
		},
		{
			name: "terminal event without the task",
			watch: func(_ int, stream watchStream) error {
				return send(stream, running(1), running(2), running(3), done(4, false))
			},
			wantAfters: []int64{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{}
			f.tasks.watchTask = func(attempt int, _ *meetingagentv1.WatchTaskRequest, stream watchStream) error {
				return tt.watch(attempt, stream)
			}
			f.tasks.getTask = func(context.Context, *meetingagentv1.GetTaskRequest) (*meetingagentv1.GetTaskResponse, error) {
				return &meetingagentv1.GetTaskResponse{Task: done(4, true).GetTask()}, nil
			}
			c := newFakeClient(t, f)
			var rec watchRecorder
			task, err := c.WatchUntilDone(context.Background(), watchedTask, rec.options())
			if err != nil {
				t.Fatalf("WatchUntilDone: %v", err)
			}
			if task.GetState() != meetingagentv1.TaskState_TASK_STATE_SUCCEEDED || task.GetLastEventSequence() != 4 {
				t.Errorf("WatchUntilDone returned %v", task)
			}
			if want := []int64{1, 2, 3, 4}; !slices.Equal(rec.events, want) {
				t.Errorf("OnEvent saw sequences %v, want %v", rec.events, want)
			}
			_, _, afters := f.tasks.counts()
			if !slices.Equal(afters, tt.wantAfters) {
				t.Errorf("WatchTask calls had after_sequence %v, want %v", afters, tt.wantAfters)
			}
			if !slices.Equal(rec.causes, tt.wantCauses) {
				t.Errorf("OnReconnect causes = %v, want %v", rec.causes, tt.wantCauses)
			}
			if !slices.Equal(rec.reconnects, tt.wantReconnects) {
				t.Errorf("OnReconnect after sequences = %v, want %v", rec.reconnects, tt.wantReconnects)
			}
		})
	}
}

func TestWatchUntilDoneIdleTimeout(t *testing.T) {
	f := &fakeServer{}
	f.tasks.watchTask = func(attempt int, _ *meetingagentv1.WatchTaskRequest, stream watchStream) error {
		if attempt == 1 {
			_ = send(stream, running(1))
			<-stream.Context().Done() // a stalled stream: no heartbeats either
			return nil
		}
		return send(stream, done(2, true))
	}
	c := newFakeClient(t, f)
	var rec watchRecorder
	opts := rec.options()
	opts.IdleTimeout = 100 * time.Millisecond
	if _, err := c.WatchUntilDone(context.Background(), watchedTask, opts); err != nil {
		t.Fatalf("WatchUntilDone: %v", err)
	}
	if !slices.Equal(rec.reconnects, []int64{1}) || !slices.Equal(rec.causes, []codes.Code{codes.Unavailable}) {
		t.Errorf("reconnects %v with causes %v, want one after sequence 1 with UNAVAILABLE", rec.reconnects, rec.causes)
	}
}

func TestWatchUntilDoneGivesUp(t *testing.T) {
	t.Run("on an error a retry cannot fix", func(t *testing.T) {
		f := &fakeServer{}
		f.tasks.watchTask = func(int, *meetingagentv1.WatchTaskRequest, watchStream) error {
			return richError(codes.NotFound, ReasonNotFound, 0)
		}
		c := newFakeClient(t, f)
		_, err := c.WatchUntilDone(context.Background(), watchedTask, nil)
		if status.Code(err) != codes.NotFound || ErrorReason(err) != ReasonNotFound {
			t.Errorf("WatchUntilDone error = %v, want NOT_FOUND", err)
		}
		if _, _, afters := f.tasks.counts(); len(afters) != 1 {
			t.Errorf("%d WatchTask calls, want 1", len(afters))
		}
	})
	t.Run("after MaxAttempts failures in a row", func(t *testing.T) {
		f := &fakeServer{}
		f.tasks.watchTask = func(int, *meetingagentv1.WatchTaskRequest, watchStream) error {
			return richError(codes.Unavailable, "QUEUE_UNAVAILABLE", time.Millisecond)
		}
		c := newFakeClient(t, f, WithoutRetries())
		_, err := c.WatchUntilDone(context.Background(), watchedTask, &WatchOptions{MaxAttempts: 3})
		if ErrorReason(err) != "QUEUE_UNAVAILABLE" {
			t.Errorf("WatchUntilDone error = %v, want the last failure", err)
		}
		if _, _, afters := f.tasks.counts(); len(afters) != 3 {
			t.Errorf("%d WatchTask calls, want 3", len(afters))
		}
	})
	t.Run("when the context ends", func(t *testing.T) {
		f := &fakeServer{}
		f.tasks.watchTask = func(_ int, _ *meetingagentv1.WatchTaskRequest, stream watchStream) error {
			_ = send(stream, running(1))
			<-stream.Context().Done()
			return nil
		}
		c := newFakeClient(t, f)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.WatchUntilDone(ctx, watchedTask, nil)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("WatchUntilDone error = %v, want DEADLINE_EXCEEDED", err)
		}
	})
}

func TestBackoff(t *testing.T) {
	for failures, limit := range map[int]time.Duration{
		1: watchInitialBackoff, 2: 2 * watchInitialBackoff, 3: 4 * watchInitialBackoff, 20: watchMaxBackoff,
	} {
		for range 20 {
			if d := backoff(failures); d < limit/2 || d > limit {
				t.Fatalf("backoff(%d) = %v, want between %v and %v", failures, d, limit/2, limit)
			}
		}
	}
}

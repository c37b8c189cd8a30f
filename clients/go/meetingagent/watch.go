package meetingagent

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Defaults of [Client.WatchUntilDone].
const (
	// DefaultWatchIdleTimeout is how long a watch waits for a message before it
	// considers the stream dead and resumes on a new one. The server sends a
	// heartbeat every 15 s (by default) on an idle stream, so a minute is four
	// missed heartbeats.
	DefaultWatchIdleTimeout = time.Minute
	// DefaultWatchMaxAttempts is how many WatchTask calls in a row may fail without
	// receiving anything before WatchUntilDone gives up.
	DefaultWatchMaxAttempts = 10
)

// Backoff between WatchTask attempts without a RetryInfo from the server.
const (
	watchInitialBackoff = 100 * time.Millisecond
	watchMaxBackoff     = 5 * time.Second
)

// WatchOptions adjusts [Client.WatchUntilDone]; the zero value (or nil) uses the
// defaults.
type WatchOptions struct {
	// AfterSequence skips the events up to and including this sequence, for a
	// caller that has seen them already; 0 replays the task's whole history.
	AfterSequence int64
	// OnEvent, when set, is called with each event of the task, in sequence order
	// and exactly once, also across reconnections. Heartbeats are not passed on.
	OnEvent func(event *meetingagentv1.TaskEvent)
	// OnReconnect, when set, is called before each new WatchTask call that resumes
	// a broken stream, with the last sequence received and the error that ended the
	// previous stream.
	OnReconnect func(afterSequence int64, err error)
	// IdleTimeout is how long to wait for any message, heartbeats included, before
	// abandoning a stream and resuming on a new one; 0 means
	// [DefaultWatchIdleTimeout], a negative value waits forever.
	IdleTimeout time.Duration
	// MaxAttempts is how many WatchTask calls in a row may fail without receiving
	// a message before WatchUntilDone returns the last error; 0 means
	// [DefaultWatchMaxAttempts].
	MaxAttempts int
}

// WatchUntilDone follows the task called name (e.g. "tasks/0b5c…") with
// TaskService.WatchTask until it ends, and returns the task as it ended: in state
// SUCCEEDED, FAILED or CANCELLED (see [TaskError]). A task that failed is not an
// error of WatchUntilDone.
//
// When the stream breaks before the task ends (the connection drops, a proxy or the
// server closes it, nothing arrives within IdleTimeout), WatchUntilDone calls
// WatchTask again with after_sequence set to the last sequence it received, so no
// event is lost or repeated; it waits between attempts as the server's RetryInfo
// advises, or with exponential backoff. It gives up on errors that a retry cannot
// fix (NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED, ...), when ctx ends, and after
// MaxAttempts failed calls in a row, returning the gRPC status of the last failure.
func (c *Client) WatchUntilDone(ctx context.Context, name string, opts *WatchOptions) (*meetingagentv1.Task, error) {
	o := WatchOptions{}
	if opts != nil {
		o = *opts
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultWatchIdleTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultWatchMaxAttempts
	}
	after := o.AfterSequence
	failures := 0
	for {
		task, received, err := c.watchOnce(ctx, name, &after, &o)
		if err == nil {
			return task, nil
		}
		if received {
			failures = 0
		}
		failures++
		if ctx.Err() != nil || failures >= o.MaxAttempts || !c.resumable(ctx, err) {
			return nil, err
		}
		if o.OnReconnect != nil {
			o.OnReconnect(after, err)
		}
		delay, ok := RetryDelay(err)
		if !ok {
			delay = backoff(failures)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-timer.C:
		}
	}
}

// errIdle ends a stream on which nothing arrived within the idle timeout.
var errIdle = errors.New("idle stream")

// watchOnce makes one WatchTask call and reads it until the task's terminal event,
// moving *after along. received reports whether any message arrived.
func (c *Client) watchOnce(ctx context.Context, name string, after *int64, o *WatchOptions) (
	task *meetingagentv1.Task, received bool, err error) {
	attemptCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var idle *time.Timer
	if o.IdleTimeout > 0 {
		idle = time.AfterFunc(o.IdleTimeout, func() { cancel(errIdle) })
		defer idle.Stop()
	}
	stream, err := c.Tasks.WatchTask(attemptCtx, &meetingagentv1.WatchTaskRequest{Name: name, AfterSequence: *after})
	if err != nil {
		return nil, false, err
	}
	sawTerminal := false
	for {
		resp, err := stream.Recv()
		if err != nil {
			switch {
			case ctx.Err() == nil && errors.Is(context.Cause(attemptCtx), errIdle):
				return nil, received, status.Errorf(codes.Unavailable,
					"meetingagent: WatchTask(%s): nothing received for %v", name, o.IdleTimeout)
			case errors.Is(err, io.EOF) && sawTerminal:
				// The terminal event came without the task (an older server): get it.
				resp, err := c.Tasks.GetTask(ctx, &meetingagentv1.GetTaskRequest{Name: name})
				if err != nil {
					return nil, received, err
				}
				return resp.GetTask(), received, nil
			case errors.Is(err, io.EOF):
				return nil, received, status.Errorf(codes.Unavailable,
					"meetingagent: WatchTask(%s): the stream ended before the task did", name)
			}
			return nil, received, err
		}
		received = true
		if idle != nil {
			idle.Reset(o.IdleTimeout)
		}
		event := resp.GetEvent()
		if event.GetType() == meetingagentv1.TaskEventType_TASK_EVENT_TYPE_HEARTBEAT || event.GetSequence() <= *after {
			continue
		}
		*after = event.GetSequence()
		if o.OnEvent != nil {
			o.OnEvent(event)
		}
		if IsTerminal(event.GetState()) {
			sawTerminal = true
			if t := resp.GetTask(); t != nil {
				drain(stream, cancel)
				return t, true, nil
			}
		}
	}
}

// drainTimeout bounds the wait for the end of a stream after its terminal event.
const drainTimeout = 2 * time.Second

// drain reads what is left of a stream, normally just its OK status, so that it ends
// cleanly instead of being cancelled; it gives up after drainTimeout.
func drain(stream grpc.ServerStreamingClient[meetingagentv1.WatchTaskResponse], cancel context.CancelCauseFunc) {
	timer := time.AfterFunc(drainTimeout, func() { cancel(errIdle) })
	defer timer.Stop()
	for {
		if _, err := stream.Recv(); err != nil {
			return
		}
	}
}

// resumable reports whether a new WatchTask call may succeed where err ended the
// last one.
func (c *Client) resumable(ctx context.Context, err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted:
		return true
	case codes.Canceled, codes.DeadlineExceeded:
		// Not the caller's context (checked before): a proxy or a server shutting down.
		return ctx.Err() == nil
	case codes.ResourceExhausted:
		_, advised := RetryDelay(err)
		return advised
	case codes.Internal:
		// A broken HTTP/2 stream (RST_STREAM) has no ErrorInfo; a server bug has one.
		return ErrorInfo(err) == nil
	case codes.Unauthenticated:
		return c.dropExpiredToken(err)
	}
	return false
}

// backoff is the wait before the attempt after the given number of failures in a
// row: exponential from watchInitialBackoff, capped, with jitter.
func backoff(failures int) time.Duration {
	d := watchInitialBackoff
	for i := 1; i < failures && d < watchMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, watchMaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// IsTerminal reports whether a task in this state has ended.
func IsTerminal(state meetingagentv1.TaskState) bool {
	switch state {
	case meetingagentv1.TaskState_TASK_STATE_SUCCEEDED,
		meetingagentv1.TaskState_TASK_STATE_FAILED,
		meetingagentv1.TaskState_TASK_STATE_CANCELLED:
		return true
	}
	return false
}

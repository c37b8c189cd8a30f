package meetingagent

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name    string
		address string
		opts    []Option
		want    string
	}{
		{"empty address", "", nil, "empty server address"},
		{"two transports", "localhost:1", []Option{WithInsecure(), WithTLS(nil)}, "WithTLS conflicts with WithInsecure"},
		{"nil transport credentials", "localhost:1", []Option{WithTransportCredentials(nil)}, "nil credentials"},
		{"empty token", "localhost:1", []Option{WithInsecure(), WithToken("")}, "empty token"},
		{"nil token source", "localhost:1", []Option{WithInsecure(), WithTokenSource(nil)}, "nil token source"},
		{"two token options", "localhost:1", []Option{WithInsecure(), WithToken("a"), WithTokenSource(StaticToken("b"))}, "choose one way to get tokens"},
		{"keepalive too frequent", "localhost:1", []Option{WithKeepalive(time.Second, time.Second)}, "below the server's minimum ping interval"},
		{"keepalive without timeout", "localhost:1", []Option{WithKeepalive(time.Minute, 0)}, "must be positive"},
		{"negative timeout", "localhost:1", []Option{WithTimeout(-time.Second)}, "negative timeout"},
		{"too many attempts", "localhost:1", []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 6})}, "not between 1 and 5"},
		{"backoff bounds", "localhost:1", []Option{WithRetryPolicy(RetryPolicy{
			MaxAttempts: 3, InitialBackoff: time.Second, MaxBackoff: time.Millisecond, BackoffMultiplier: 2,
		})}, "less than InitialBackoff"},
		{"retry on OK", "localhost:1", []Option{WithRetryPolicy(RetryPolicy{
			MaxAttempts: 3, InitialBackoff: time.Second, MaxBackoff: time.Second, BackoffMultiplier: 2,
			RetryableCodes: []codes.Code{codes.OK},
		})}, "not a retryable status code"},
		// gRPC itself refuses to put a token on a plaintext connection unless the
		// credentials say they may go there, which only WithInsecure does.
		{"token over plaintext credentials", "localhost:1", []Option{
			WithTransportCredentials(insecure.NewCredentials()), WithToken("t"),
		}, "require transport level security"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.address, tt.opts...)
			if err == nil {
				_ = c.Close()
				t.Fatalf("New succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewAcceptsValidOptions(t *testing.T) {
	tests := []struct {
		name             string
		opts             []Option
		wantRequiresTLS  bool
		wantTokenOptions bool
	}{
		{"defaults", nil, false, false},
		{"TLS with a token", []Option{WithTLS(nil), WithToken("t")}, true, true},
		{"default transport (TLS) with a token", []Option{WithToken("t")}, true, true},
		{"plaintext with a token", []Option{WithInsecure(), WithToken("t")}, false, true},
		{"plaintext with a token source", []Option{WithInsecure(), WithTokenSource(StaticToken("t"))}, false, true},
		{"everything", []Option{
			WithInsecure(), WithInsecure(), WithToken("t"), WithKeepalive(MinKeepaliveTime, time.Second),
			WithTimeout(0), WithoutRetries(), WithUserAgent("billing/1.2"),
		}, false, true},
		{"keepalive off", []Option{WithKeepalive(0, 0)}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New("localhost:1", tt.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer c.Close()
			if got := c.tokens != nil; got != tt.wantTokenOptions {
				t.Fatalf("client has token credentials = %v, want %v", got, tt.wantTokenOptions)
			}
			if c.tokens != nil && c.tokens.RequireTransportSecurity() != tt.wantRequiresTLS {
				t.Errorf("RequireTransportSecurity() = %v, want %v", c.tokens.RequireTransportSecurity(), tt.wantRequiresTLS)
			}
			if c.Tasks == nil || c.Audio == nil || c.Minutes == nil || c.Transcripts == nil || c.Health == nil ||
				c.Capabilities == nil || c.PromptTemplates == nil || c.HotwordSets == nil || c.Usage == nil || c.Conn() == nil {
				t.Error("New left a stub unset")
			}
		})
	}
}

func TestServiceConfigRetriesReadsOnly(t *testing.T) {
	var cfg serviceConfig
	if err := json.Unmarshal([]byte(DefaultRetryPolicy().serviceConfigJSON()), &cfg); err != nil {
		t.Fatalf("service config is not JSON: %v", err)
	}
	if len(cfg.MethodConfig) != 1 || cfg.MethodConfig[0].RetryPolicy == nil {
		t.Fatalf("service config = %+v, want one method config with a retry policy", cfg)
	}
	mc := cfg.MethodConfig[0]
	var methods []string
	for _, n := range mc.Name {
		methods = append(methods, strings.TrimPrefix(n.Service, "meeting_agent.v1.")+"/"+n.Method)
	}
	for _, want := range []string{
		"TaskService/GetTask", "TaskService/ListTasks", "TaskService/WatchTask", "AudioService/GetUpload",
		"TranscriptService/GetTranscript", "TranscriptService/ExportTranscript", "MinutesService/ListArtifacts",
		"MinutesService/ExportArtifact", "CapabilitiesService/GetCapabilities", "UsageService/GetUsage",
	} {
		if !slices.Contains(methods, want) {
			t.Errorf("retried methods %q lack %s", methods, want)
		}
	}
	for _, unwanted := range []string{
		"TaskService/CreateTask", "TaskService/CancelTask", "TaskService/DeleteTask", "AudioService/UploadAudio",
		"AudioService/CreateUploadUrl", "MinutesService/GenerateArtifact", "TranscriptService/UpdateSpeakerMappings",
	} {
		if slices.Contains(methods, unwanted) {
			t.Errorf("retried methods include the mutation %s", unwanted)
		}
	}
	p := mc.RetryPolicy
	if p.MaxAttempts != 4 || p.InitialBackoff != "0.2s" || p.MaxBackoff != "5s" || p.BackoffMultiplier != 2 ||
		!slices.Equal(p.RetryableStatusCodes, []string{"UNAVAILABLE"}) {
		t.Errorf("retry policy = %+v", p)
	}
	if cfg.RetryThrottling == nil {
		t.Error("no retry throttling")
	}
	if got := (RetryPolicy{MaxAttempts: 1}).serviceConfigJSON(); got != "{}" {
		t.Errorf("service config without retries = %s, want {}", got)
	}
}

func TestCodeName(t *testing.T) {
	for code, want := range map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unavailable: "UNAVAILABLE",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	} {
		if got := codeName(code); got != want {
			t.Errorf("codeName(%v) = %q, want %q", code, got, want)
		}
	}
}

// TestRetryPolicyApplies checks that gRPC honours the service config: reads are
// retried on UNAVAILABLE, mutations and other codes are not.
func TestRetryPolicyApplies(t *testing.T) {
	f := &fakeServer{}
	var gets int
	f.tasks.getTask = func(context.Context, *meetingagentv1.GetTaskRequest) (*meetingagentv1.GetTaskResponse, error) {
		gets++
		if gets < 3 {
			return nil, status.Error(codes.Unavailable, "try again")
		}
		return &meetingagentv1.GetTaskResponse{Task: &meetingagentv1.Task{Name: "tasks/t1"}}, nil
	}
	f.tasks.createTask = func(context.Context, *meetingagentv1.CreateTaskRequest) (*meetingagentv1.CreateTaskResponse, error) {
		return nil, status.Error(codes.Unavailable, "try again")
	}
	c := newFakeClient(t, f)
	ctx := context.Background()

	resp, err := c.Tasks.GetTask(ctx, &meetingagentv1.GetTaskRequest{Name: "tasks/t1"})
	if err != nil {
		t.Fatalf("GetTask after two UNAVAILABLE answers: %v", err)
	}
	if resp.GetTask().GetName() != "tasks/t1" {
		t.Errorf("GetTask returned %v", resp)
	}
	_, err = c.Tasks.CreateTask(ctx, &meetingagentv1.CreateTaskRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("CreateTask error = %v, want UNAVAILABLE", err)
	}
	get, create, _ := f.tasks.counts()
	if get != 3 || create != 1 {
		t.Errorf("server saw %d GetTask and %d CreateTask calls, want 3 and 1", get, create)
	}
}

func TestWithoutRetries(t *testing.T) {
	f := &fakeServer{}
	f.tasks.getTask = func(context.Context, *meetingagentv1.GetTaskRequest) (*meetingagentv1.GetTaskResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}
	c := newFakeClient(t, f, WithoutRetries())
	if _, err := c.Tasks.GetTask(context.Background(), &meetingagentv1.GetTaskRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("GetTask error = %v, want UNAVAILABLE", err)
	}
	if get, _, _ := f.tasks.counts(); get != 1 {
		t.Errorf("server saw %d GetTask calls, want 1", get)
	}
}

// TestDefaultTimeout checks which calls get the default deadline.
func TestDefaultTimeout(t *testing.T) {
	remaining := make(chan time.Duration, 1)
	f := &fakeServer{}
	f.tasks.getTask = func(ctx context.Context, _ *meetingagentv1.GetTaskRequest) (*meetingagentv1.GetTaskResponse, error) {
		deadline, ok := ctx.Deadline()
		if !ok {
			remaining <- -1
		} else {
			remaining <- time.Until(deadline)
		}
		return &meetingagentv1.GetTaskResponse{}, nil
	}
	f.tasks.watchTask = func(_ int, _ *meetingagentv1.WatchTaskRequest, stream watchStream) error {
		deadline, ok := stream.Context().Deadline()
		if !ok {
			remaining <- -1
		} else {
			remaining <- time.Until(deadline)
		}
		return stream.Send(&meetingagentv1.WatchTaskResponse{
			Event: &meetingagentv1.TaskEvent{Sequence: 1, State: meetingagentv1.TaskState_TASK_STATE_SUCCEEDED},
			Task:  &meetingagentv1.Task{Name: "tasks/t1"},
		})
	}
	get := func(ctx context.Context, c *Client) time.Duration {
		t.Helper()
		if _, err := c.Tasks.GetTask(ctx, &meetingagentv1.GetTaskRequest{}); err != nil {
			t.Fatalf("GetTask: %v", err)
		}
		return <-remaining
	}

	c := newFakeClient(t, f, WithTimeout(5*time.Second))
	if got := get(context.Background(), c); got <= 0 || got > 5*time.Second {
		t.Errorf("GetTask without a deadline ran with %v left, want at most the default 5s", got)
	}
	long, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if got := get(long, c); got < 50*time.Minute {
		t.Errorf("GetTask with a 1h deadline ran with %v left: the default must not shorten it", got)
	}
	if _, err := c.WatchUntilDone(context.Background(), "tasks/t1", nil); err != nil {
		t.Fatalf("WatchUntilDone: %v", err)
	}
	if got := <-remaining; got != -1 {
		t.Errorf("WatchTask ran with a deadline %v away, want none: streams are bounded by their context", got)
	}

	unbounded := newFakeClient(t, &fakeServer{tasks: fakeTasks{getTask: f.tasks.getTask}}, WithTimeout(0))
	if got := get(context.Background(), unbounded); got != -1 {
		t.Errorf("GetTask with WithTimeout(0) ran with a deadline %v away, want none", got)
	}
}

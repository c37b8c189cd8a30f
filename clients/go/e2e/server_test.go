// Package e2e_test checks a running meeting-agent server the way its Go callers use
// it: through the generated stubs and the meetingagent package, with a bearer token,
// branching on status details.
//
// Point it at a server with MEETING_AGENT_ADDRESS (host:port, plaintext) and
// MEETING_AGENT_TOKEN (a bearer token that server accepts). scripts/run-go-e2e.sh
// starts a throwaway server and sets both. Without them the tests are skipped, except
// when CI is set, where they fail.
package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	// errorDomain is the ErrorInfo domain of every error the service raises.
	errorDomain = "meeting-agent"
	// uploadChunkBytes is the size of the UploadAudio chunks this test sends.
	uploadChunkBytes = 64 << 10
	// rpcTimeout bounds each unary call.
	rpcTimeout = 10 * time.Second
	// watchTimeout bounds a WatchTask stream of a cancelled task.
	watchTimeout = 60 * time.Second
)

// server is what the environment says about the server under test.
type server struct {
	address string
	token   string
}

// requireServer reads the server under test from the environment, skipping the test
// when it is not configured (or failing it on CI, where a skip would hide a broken setup).
func requireServer(t *testing.T) server {
	t.Helper()
	s := server{
		address: os.Getenv("MEETING_AGENT_ADDRESS"),
		token:   os.Getenv("MEETING_AGENT_TOKEN"),
	}
	if s.address == "" || s.token == "" {
		const msg = "MEETING_AGENT_ADDRESS and MEETING_AGENT_TOKEN are not set; " +
			"run scripts/run-go-e2e.sh, or set them to a running server and a token for it"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return s
}

// bearerToken sends `authorization: Bearer <token>` with every call. The test server
// speaks plaintext, so it does not insist on transport security.
type bearerToken string

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

// dial opens a plaintext client connection that is closed when the test ends.
func dial(t *testing.T, address string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conn, err := grpc.NewClient(address, opts...)
	if err != nil {
		t.Fatalf("grpc.NewClient(%q): %v", address, err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing the connection: %v", err)
		}
	})
	return conn
}

// dialWithToken opens a connection whose calls carry the bearer token.
func dialWithToken(t *testing.T, s server) *grpc.ClientConn {
	t.Helper()
	return dial(t, s.address, grpc.WithPerRPCCredentials(bearerToken(s.token)))
}

func rpcContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// requireStatus fails the test unless err is a gRPC status with the wanted code.
func requireStatus(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want code %v", want)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error is not a gRPC status: %v", err)
	}
	if st.Code() != want {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), want)
	}
	return st
}

// details returns the status details of type T, failing on details that cannot be decoded.
func details[T any](t *testing.T, st *status.Status) []T {
	t.Helper()
	var found []T
	for _, d := range st.Details() {
		switch d := d.(type) {
		case error:
			t.Errorf("undecodable status detail: %v", d)
		case T:
			found = append(found, d)
		}
	}
	return found
}

// TestHealthCheckAsKubernetesProbe calls the health service the way the kubelet's
// native gRPC probe does (pkg/probe/grpc in Kubernetes): a fresh plaintext connection
// with a kube-probe user agent, no credentials, empty metadata, service "", and one
// timeout (the probe's default timeoutSeconds, 1 s) for connecting and calling.
func TestHealthCheckAsKubernetesProbe(t *testing.T) {
	s := requireServer(t)
	conn := dial(t, s.address, grpc.WithUserAgent("kube-probe/1.34"))
	ctx := rpcContext(t, time.Second)

	resp, err := healthpb.NewHealthClient(conn).Check(
		metadata.NewOutgoingContext(ctx, metadata.MD{}),
		&healthpb.HealthCheckRequest{Service: ""},
		grpc.WaitForReady(true), // the kubelet dials with WithBlock
	)
	if err != nil {
		t.Fatalf("Health/Check: %v", err)
	}
	if got := resp.GetStatus(); got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Health/Check status = %v, want SERVING", got)
	}
}

func TestGetCapabilities(t *testing.T) {
	s := requireServer(t)
	client := meetingagentv1.NewCapabilitiesServiceClient(dialWithToken(t, s))

	resp, err := client.GetCapabilities(rpcContext(t, rpcTimeout), &meetingagentv1.GetCapabilitiesRequest{})
	if err != nil {
		t.Fatalf("GetCapabilities: %v", err)
	}
	var names []string
	for _, p := range resp.GetAsrProviders() {
		names = append(names, p.GetName())
	}
	if !slices.Contains(names, "local") {
		t.Errorf("ASR providers = %q, want one named \"local\"", names)
	}
	if resp.GetServerVersion() == "" {
		t.Error("server_version is empty")
	}
	if resp.GetLimits().GetMaxChunkBytes() < uploadChunkBytes {
		t.Errorf("limits.max_chunk_bytes = %d, want at least the %d this test sends",
			resp.GetLimits().GetMaxChunkBytes(), uploadChunkBytes)
	}
}

func TestGetCapabilitiesWithoutToken(t *testing.T) {
	s := requireServer(t)
	client := meetingagentv1.NewCapabilitiesServiceClient(dial(t, s.address))

	_, err := client.GetCapabilities(rpcContext(t, rpcTimeout), &meetingagentv1.GetCapabilitiesRequest{})
	st := requireStatus(t, err, codes.Unauthenticated)
	infos := details[*errdetails.ErrorInfo](t, st)
	if len(infos) != 1 {
		t.Fatalf("status details hold %d ErrorInfo, want 1: %v", len(infos), st.Details())
	}
	if infos[0].GetReason() != "MISSING_CREDENTIALS" || infos[0].GetDomain() != errorDomain {
		t.Errorf("ErrorInfo = {reason %q, domain %q}, want {reason \"MISSING_CREDENTIALS\", domain %q}",
			infos[0].GetReason(), infos[0].GetDomain(), errorDomain)
	}
}

func TestGetTaskInvalidName(t *testing.T) {
	s := requireServer(t)
	client := meetingagentv1.NewTaskServiceClient(dialWithToken(t, s))

	_, err := client.GetTask(rpcContext(t, rpcTimeout), &meetingagentv1.GetTaskRequest{Name: "nope"})
	st := requireStatus(t, err, codes.InvalidArgument)
	var fields []string
	for _, br := range details[*errdetails.BadRequest](t, st) {
		for _, v := range br.GetFieldViolations() {
			fields = append(fields, v.GetField())
			if v.GetField() == "name" && v.GetDescription() == "" {
				t.Error("the field violation on name has no description")
			}
		}
	}
	if !slices.Contains(fields, "name") {
		t.Errorf("BadRequest field violations on %q, want one on \"name\" (details: %v)", fields, st.Details())
	}
}

// TestUploadCreateWatch walks a task through upload, create, get and watch to the
// end (full replay, then a resumed replay), then reads its transcript and minutes.
func TestUploadCreateWatch(t *testing.T) {
	s := requireServer(t)
	conn := dialWithToken(t, s)
	audio := meetingagentv1.NewAudioServiceClient(conn)
	tasks := meetingagentv1.NewTaskServiceClient(conn)

	upload := uploadFile(t, audio, "testdata/jfk.flac", "audio/flac")

	created, err := tasks.CreateTask(rpcContext(t, rpcTimeout), &meetingagentv1.CreateTaskRequest{
		Task: &meetingagentv1.Task{
			DisplayName: "Go e2e: JFK inaugural address",
			AudioSources: []*meetingagentv1.AudioSource{
				{Source: &meetingagentv1.AudioSource_Upload{Upload: upload.GetName()}},
			},
			Labels: map[string]string{"suite": "go-e2e"},
		},
		RequestId: randomID(t),
	})
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	task := created.GetTask()
	name := task.GetName()
	if !strings.HasPrefix(name, "tasks/") {
		t.Fatalf("created task name = %q, want tasks/{task}", name)
	}
	t.Cleanup(func() { deleteTask(t, tasks, name) })
	if task.GetState() != meetingagentv1.TaskState_TASK_STATE_QUEUED {
		t.Errorf("created task state = %v, want QUEUED", task.GetState())
	}
	if got := task.GetAudioSources(); len(got) != 1 || got[0].GetUpload() != upload.GetName() {
		t.Errorf("created task audio sources = %v, want [upload %q]", got, upload.GetName())
	}

	got, err := tasks.GetTask(rpcContext(t, rpcTimeout), &meetingagentv1.GetTaskRequest{Name: name})
	if err != nil {
		t.Fatalf("GetTask(%q): %v", name, err)
	}
	if got.GetTask().GetName() != name {
		t.Errorf("GetTask(%q) returned task %q", name, got.GetTask().GetName())
	}
	t.Logf("%s is %v at stage %v", name, got.GetTask().GetState(), got.GetTask().GetStage())

	// A full replay of the task's history while it is processed: strictly increasing
	// sequences, ending with the stream when the task succeeds.
	events, final := watchTask(t, tasks, name, 0)
	if len(events) == 0 {
		t.Fatal("WatchTask replayed no events")
	}
	if events[0].GetSequence() != 1 {
		t.Errorf("first event sequence = %d, want 1", events[0].GetSequence())
	}
	last := events[len(events)-1]
	if last.GetState() != meetingagentv1.TaskState_TASK_STATE_SUCCEEDED {
		t.Fatalf("last event state = %v (%q), want SUCCEEDED", last.GetState(), last.GetMessage())
	}
	if final == nil {
		t.Error("the terminal WatchTaskResponse carries no task")
	} else if final.GetTranscript() != name+"/transcript" {
		t.Errorf("task on the terminal event names transcript %q", final.GetTranscript())
	}

	after, err := tasks.GetTask(rpcContext(t, rpcTimeout), &meetingagentv1.GetTaskRequest{Name: name})
	if err != nil {
		t.Fatalf("GetTask(%q) after the watch: %v", name, err)
	}
	if after.GetTask().GetLastEventSequence() != last.GetSequence() {
		t.Errorf("last_event_sequence = %d, want the last watched sequence %d",
			after.GetTask().GetLastEventSequence(), last.GetSequence())
	}

	transcripts := meetingagentv1.NewTranscriptServiceClient(conn)
	text, err := transcripts.ExportTranscript(rpcContext(t, rpcTimeout), &meetingagentv1.ExportTranscriptRequest{
		Name: name + "/transcript", Format: meetingagentv1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT,
	})
	if err != nil {
		t.Fatalf("ExportTranscript: %v", err)
	}
	if !strings.Contains(strings.ToLower(string(text.GetContent())), "ask not what your country can do for you") {
		t.Errorf("transcript = %q, want JFK's words", text.GetContent())
	}
	minutes := meetingagentv1.NewMinutesServiceClient(conn)
	artifacts, err := minutes.ListArtifacts(rpcContext(t, rpcTimeout), &meetingagentv1.ListArtifactsRequest{Parent: name})
	if err != nil || len(artifacts.GetArtifacts()) != 1 {
		t.Fatalf("ListArtifacts = %v, %v; want one artifact", artifacts, err)
	}
	if summary := artifacts.GetArtifacts()[0].GetMinutes().GetSummary(); summary == "" {
		t.Error("the minutes have no summary")
	}

	// Resuming after the first event replays exactly the rest.
	resumed, _ := watchTask(t, tasks, name, events[0].GetSequence())
	want := sequences(events[1:])
	if got := sequences(resumed); !slices.Equal(got, want) {
		t.Errorf("WatchTask after sequence %d replayed %v, want %v", events[0].GetSequence(), got, want)
	}
}

// uploadFile sends a file with UploadAudio: metadata first, then 64 KiB chunks.
func uploadFile(t *testing.T, client meetingagentv1.AudioServiceClient, path, contentType string) *meetingagentv1.Upload {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])

	stream, err := client.UploadAudio(rpcContext(t, 2*time.Minute))
	if err != nil {
		t.Fatalf("UploadAudio: %v", err)
	}
	messages := []*meetingagentv1.UploadAudioRequest{{
		Payload: &meetingagentv1.UploadAudioRequest_Metadata{Metadata: &meetingagentv1.UploadMetadata{
			Filename:    "jfk.flac",
			ContentType: contentType,
			SizeBytes:   int64(len(data)),
			Sha256:      digest,
		}},
	}}
	for offset := 0; offset < len(data); offset += uploadChunkBytes {
		chunk := data[offset:min(offset+uploadChunkBytes, len(data))]
		messages = append(messages, &meetingagentv1.UploadAudioRequest{
			Payload: &meetingagentv1.UploadAudioRequest_Chunk{Chunk: chunk},
		})
	}
	for _, m := range messages {
		// io.EOF means the server ended the call early; CloseAndRecv returns its status.
		if err := stream.Send(m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("UploadAudio send: %v", err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("UploadAudio of %s (%d bytes in %d chunks): %v", path, len(data), len(messages)-1, err)
	}
	upload := resp.GetUpload()
	if !strings.HasPrefix(upload.GetName(), "uploads/") {
		t.Errorf("upload name = %q, want uploads/{upload}", upload.GetName())
	}
	if upload.GetState() != meetingagentv1.UploadState_UPLOAD_STATE_READY {
		t.Errorf("upload state = %v, want READY", upload.GetState())
	}
	if upload.GetSizeBytes() != int64(len(data)) || upload.GetSha256() != digest {
		t.Errorf("upload = {size %d, sha256 %s}, want {size %d, sha256 %s}",
			upload.GetSizeBytes(), upload.GetSha256(), len(data), digest)
	}
	return upload
}

// watchTask reads WatchTask until the server ends the stream and returns the events
// other than heartbeats, checking that their sequences strictly increase, and the task
// sent with the terminal event.
func watchTask(t *testing.T, client meetingagentv1.TaskServiceClient, name string, after int64) ([]*meetingagentv1.TaskEvent, *meetingagentv1.Task) {
	t.Helper()
	stream, err := client.WatchTask(rpcContext(t, watchTimeout),
		&meetingagentv1.WatchTaskRequest{Name: name, AfterSequence: after})
	if err != nil {
		t.Fatalf("WatchTask(%q, after %d): %v", name, after, err)
	}
	var (
		events []*meetingagentv1.TaskEvent
		final  *meetingagentv1.Task
	)
	previous := after
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return events, final
		}
		if err != nil {
			t.Fatalf("WatchTask(%q, after %d) after %d events: %v", name, after, len(events), err)
		}
		event := resp.GetEvent()
		if event.GetTask() != name {
			t.Errorf("event %d is of task %q, want %q", event.GetSequence(), event.GetTask(), name)
		}
		if event.GetType() == meetingagentv1.TaskEventType_TASK_EVENT_TYPE_HEARTBEAT {
			continue
		}
		if event.GetSequence() <= previous {
			t.Errorf("event sequence %d follows %d, want strictly increasing", event.GetSequence(), previous)
		}
		previous = event.GetSequence()
		events = append(events, event)
		if resp.GetTask() != nil {
			final = resp.GetTask()
		}
		t.Logf("watch after %d: event %d: %v %v %v %d%% %q", after, event.GetSequence(), event.GetType(),
			event.GetState(), event.GetStage(), event.GetProgressPercent(), event.GetMessage())
	}
}

func deleteTask(t *testing.T, client meetingagentv1.TaskServiceClient, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	_, err := client.DeleteTask(ctx, &meetingagentv1.DeleteTaskRequest{Name: name})
	if err != nil && status.Code(err) != codes.NotFound {
		t.Errorf("DeleteTask(%q): %v", name, err)
	}
}

func randomID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func sequences(events []*meetingagentv1.TaskEvent) []int64 {
	seqs := make([]int64, 0, len(events))
	for _, e := range events {
		seqs = append(seqs, e.GetSequence())
	}
	return seqs
}

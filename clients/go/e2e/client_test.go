package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"github.com/meeting-agent/meeting-agent/clients/go/meetingagent"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// sampleRecording is an 11-second English recording the embedded model transcribes
// in a second or two.
const sampleRecording = "testdata/jfk.flac"

// newClient returns a meetingagent client of address, closed when the test ends.
func newClient(t *testing.T, address string, opts ...meetingagent.Option) *meetingagent.Client {
	t.Helper()
	c, err := meetingagent.New(address, append([]meetingagent.Option{meetingagent.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatalf("meetingagent.New(%q): %v", address, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("closing the client: %v", err)
		}
	})
	return c
}

// TestClientMeetingToMinutes goes from a recording to its minutes with the
// meetingagent package: UploadFile with progress, CreateTask, WatchUntilDone through
// a proxy that breaks the stream after its first event (so the watch must resume
// from sequence 1), then the transcript and the minutes.
func TestClientMeetingToMinutes(t *testing.T) {
	s := requireServer(t)
	client := newClient(t, s.address, meetingagent.WithToken(s.token))
	ctx := rpcContext(t, 2*time.Minute)

	data, err := os.ReadFile(sampleRecording)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	var progress []int64
	upload, err := client.UploadFile(ctx, sampleRecording, &meetingagent.UploadOptions{
		ChunkSize: 256 << 10,
		Progress:  func(sent, _ int64) { progress = append(progress, sent) },
	})
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	if upload.GetState() != meetingagentv1.UploadState_UPLOAD_STATE_READY ||
		upload.GetSha256() != hex.EncodeToString(sum[:]) || upload.GetSizeBytes() != int64(len(data)) ||
		upload.GetContentType() != "audio/flac" || upload.GetFilename() != "jfk.flac" {
		t.Errorf("upload = %v", upload)
	}
	// 0 after the metadata, then one report per 256 KiB chunk: 5 chunks.
	if len(progress) != 6 || progress[0] != 0 || progress[len(progress)-1] != int64(len(data)) ||
		!slices.IsSorted(progress) {
		t.Errorf("progress reports = %v, want 0, then one report per 256 KiB chunk up to %d", progress, len(data))
	}

	created, err := client.Tasks.CreateTask(ctx, &meetingagentv1.CreateTaskRequest{
		Task: &meetingagentv1.Task{
			DisplayName:  "Go client e2e",
			AudioSources: []*meetingagentv1.AudioSource{meetingagent.UploadSource(upload.GetName())},
		},
		RequestId: randomID(t),
	})
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	name := created.GetTask().GetName()
	t.Cleanup(func() { deleteTask(t, client.Tasks, name) })

	// The watch goes through the proxy, which cuts its first connection right after
	// the first event.
	proxy := startCutProxy(t, s.address)
	watcher := newClient(t, proxy.Addr(), meetingagent.WithToken(s.token))
	var (
		events     []*meetingagentv1.TaskEvent
		reconnects []int64
		causes     []codes.Code
	)
	task, err := watcher.WatchUntilDone(ctx, name, &meetingagent.WatchOptions{
		OnEvent: func(e *meetingagentv1.TaskEvent) {
			t.Logf("event %d: %v %v %d%% %q", e.GetSequence(), e.GetState(), e.GetStage(), e.GetProgressPercent(), e.GetMessage())
			events = append(events, e)
		},
		OnReconnect: func(after int64, err error) {
			t.Logf("reconnecting after event %d: %v", after, err)
			reconnects = append(reconnects, after)
			causes = append(causes, status.Code(err))
		},
	})
	if err != nil {
		t.Fatalf("WatchUntilDone(%s): %v", name, err)
	}
	if connections, cuts := proxy.Stats(); cuts != 1 || connections != 2 {
		t.Errorf("proxy: %d connections, %d cut; want 2 connections, the first cut", connections, cuts)
	}
	if !slices.Equal(reconnects, []int64{1}) || !slices.Equal(causes, []codes.Code{codes.Unavailable}) {
		t.Errorf("reconnections after events %v with causes %v; want one, after event 1, for UNAVAILABLE", reconnects, causes)
	}
	if task.GetState() != meetingagentv1.TaskState_TASK_STATE_SUCCEEDED {
		t.Fatalf("task ended %v: %v", task.GetState(), meetingagent.TaskError(task))
	}
	// Every stored event exactly once and in order, across the reconnection: the
	// same as a fresh replay.
	replay, _ := watchTask(t, client.Tasks, name, 0)
	if got, want := sequences(events), sequences(replay); !slices.Equal(got, want) {
		t.Errorf("WatchUntilDone saw sequences %v, a full replay has %v", got, want)
	}
	if last := events[len(events)-1]; task.GetLastEventSequence() != last.GetSequence() {
		t.Errorf("task.last_event_sequence = %d, last event %d", task.GetLastEventSequence(), last.GetSequence())
	}

	transcript, err := client.Transcripts.ExportTranscript(ctx, &meetingagentv1.ExportTranscriptRequest{
		Name: task.GetTranscript(), Format: meetingagentv1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT,
	})
	if err != nil {
		t.Fatalf("ExportTranscript: %v", err)
	}
	if !strings.Contains(strings.ToLower(string(transcript.GetContent())), "ask not what your country can do for you") {
		t.Errorf("transcript = %q, want JFK's words", transcript.GetContent())
	}
	minutes, err := client.ExportMinutes(ctx, name, meetingagentv1.MinutesFormat_MINUTES_FORMAT_MARKDOWN)
	if err != nil {
		t.Fatalf("ExportMinutes: %v", err)
	}
	md := string(minutes.GetContent())
	if minutes.GetContentType() == "" || !strings.Contains(md, "Go client e2e") ||
		!strings.Contains(strings.ToLower(md), "ask not what your country") {
		t.Errorf("minutes (%s) = %q, want a document titled after the task, summarising JFK", minutes.GetContentType(), md)
	}

	// The server survived the cut connection: it still serves, through the proxy too.
	health, err := watcher.Health.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Health/Check after the cut = %v, %v; want SERVING", health, err)
	}

	// A stale etag: ABORTED with reason ETAG_MISMATCH and advice to retry soon.
	_, err = client.Transcripts.UpdateSpeakerMappings(ctx, &meetingagentv1.UpdateSpeakerMappingsRequest{
		SpeakerMappings: &meetingagentv1.SpeakerMappings{
			Name:     name + "/speakerMappings",
			Mappings: map[string]*meetingagentv1.SpeakerIdentity{"SPEAKER_1": {DisplayName: "John F. Kennedy"}},
			Etag:     "stale",
		},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"mappings"}},
	})
	if status.Code(err) != codes.Aborted || meetingagent.ErrorReason(err) != meetingagent.ReasonEtagMismatch {
		t.Errorf("UpdateSpeakerMappings with a stale etag: %v (reason %q), want ABORTED, ETAG_MISMATCH", err, meetingagent.ErrorReason(err))
	}
	if delay, ok := meetingagent.RetryDelay(err); !ok || delay <= 0 {
		t.Errorf("RetryDelay = %v, %v; want the server's advice", delay, ok)
	}
}

// TestClientErrorReasons checks the reasons of bad requests and unauthenticated
// calls as the helpers report them.
func TestClientErrorReasons(t *testing.T) {
	s := requireServer(t)
	client := newClient(t, s.address, meetingagent.WithToken(s.token))
	ctx := rpcContext(t, time.Minute)

	t.Run("a task without audio", func(t *testing.T) {
		_, err := client.Tasks.CreateTask(ctx, &meetingagentv1.CreateTaskRequest{Task: &meetingagentv1.Task{}})
		if status.Code(err) != codes.InvalidArgument || meetingagent.ErrorReason(err) != meetingagent.ReasonInvalidArgument {
			t.Fatalf("CreateTask: %v (reason %q), want INVALID_ARGUMENT", err, meetingagent.ErrorReason(err))
		}
		var fields []string
		for _, v := range meetingagent.FieldViolations(err) {
			fields = append(fields, v.GetField())
		}
		if !slices.Contains(fields, "task.audio_sources") {
			t.Errorf("field violations on %q, want one on task.audio_sources", fields)
		}
		if _, ok := meetingagent.RetryDelay(err); ok {
			t.Error("a bad request comes with retry advice")
		}
	})
	t.Run("a malformed task name", func(t *testing.T) {
		_, err := client.Tasks.GetTask(ctx, &meetingagentv1.GetTaskRequest{Name: "meetings/1"})
		if meetingagent.ErrorReason(err) != meetingagent.ReasonInvalidArgument || len(meetingagent.FieldViolations(err)) == 0 {
			t.Errorf("GetTask: %v, want INVALID_ARGUMENT naming the field", err)
		}
	})
	t.Run("an upload whose bytes do not match its checksum", func(t *testing.T) {
		stream, err := client.Audio.UploadAudio(ctx)
		if err != nil {
			t.Fatal(err)
		}
		content := []byte("not what the checksum says")
		other := sha256.Sum256([]byte("something else"))
		_ = stream.Send(&meetingagentv1.UploadAudioRequest{Payload: &meetingagentv1.UploadAudioRequest_Metadata{
			Metadata: &meetingagentv1.UploadMetadata{
				Filename: "x.wav", ContentType: "audio/wav", SizeBytes: int64(len(content)), Sha256: hex.EncodeToString(other[:]),
			},
		}})
		_ = stream.Send(&meetingagentv1.UploadAudioRequest{Payload: &meetingagentv1.UploadAudioRequest_Chunk{Chunk: content}})
		_, err = stream.CloseAndRecv()
		if meetingagent.ErrorReason(err) != meetingagent.ReasonUploadChecksumMismatch {
			t.Errorf("UploadAudio: %v (reason %q), want reason %s", err, meetingagent.ErrorReason(err), meetingagent.ReasonUploadChecksumMismatch)
		}
	})
	t.Run("no token", func(t *testing.T) {
		anonymous := newClient(t, s.address)
		_, err := anonymous.Capabilities.GetCapabilities(ctx, &meetingagentv1.GetCapabilitiesRequest{})
		if status.Code(err) != codes.Unauthenticated || meetingagent.ErrorReason(err) != meetingagent.ReasonMissingCredentials {
			t.Errorf("GetCapabilities: %v (reason %q), want UNAUTHENTICATED, MISSING_CREDENTIALS", err, meetingagent.ErrorReason(err))
		}
		// Health needs no token.
		if resp, err := anonymous.Health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil ||
			resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Health/Check without a token = %v, %v", resp, err)
		}
	})
	t.Run("a malformed token", func(t *testing.T) {
		_, err := newClient(t, s.address, meetingagent.WithToken("not-a-jwt")).
			Capabilities.GetCapabilities(ctx, &meetingagentv1.GetCapabilitiesRequest{})
		if status.Code(err) != codes.Unauthenticated || meetingagent.ErrorReason(err) != meetingagent.ReasonMalformedToken {
			t.Errorf("GetCapabilities: %v (reason %q), want UNAUTHENTICATED, MALFORMED_TOKEN", err, meetingagent.ErrorReason(err))
		}
	})
	t.Run("an expired token is replaced", func(t *testing.T) {
		expired := os.Getenv("MEETING_AGENT_EXPIRED_TOKEN")
		if expired == "" {
			t.Skip("MEETING_AGENT_EXPIRED_TOKEN is not set (scripts/run-go-e2e.sh sets it)")
		}
		// The source hands out the expired token first, claiming it is valid for an
		// hour (as when the server's clock is ahead), then the good one.
		var calls atomic.Int32
		refreshing := newClient(t, s.address, meetingagent.WithTokenSource(
			func(context.Context) (meetingagent.Token, error) {
				if calls.Add(1) == 1 {
					return meetingagent.Token{Value: expired, Expiry: time.Now().Add(time.Hour)}, nil
				}
				return meetingagent.Token{Value: s.token, Expiry: time.Now().Add(time.Hour)}, nil
			}))
		if _, err := refreshing.Capabilities.GetCapabilities(ctx, &meetingagentv1.GetCapabilitiesRequest{}); err != nil {
			t.Fatalf("GetCapabilities: %v", err)
		}
		if calls.Load() != 2 {
			t.Errorf("the token source was called %d times, want 2 (the server said TOKEN_EXPIRED once)", calls.Load())
		}
		_, err := newClient(t, s.address, meetingagent.WithToken(expired)).
			Capabilities.GetCapabilities(ctx, &meetingagentv1.GetCapabilitiesRequest{})
		if meetingagent.ErrorReason(err) != meetingagent.ReasonTokenExpired {
			t.Errorf("GetCapabilities with an expired static token: %v, want reason TOKEN_EXPIRED", err)
		}
	})
}

// TestClientUploadFromReader uploads content that is not a file.
func TestClientUploadFromReader(t *testing.T) {
	s := requireServer(t)
	client := newClient(t, s.address, meetingagent.WithToken(s.token))
	data, err := os.ReadFile(sampleRecording)
	if err != nil {
		t.Fatal(err)
	}
	upload, err := client.Upload(rpcContext(t, time.Minute), bytes.NewReader(data),
		&meetingagent.UploadOptions{Filename: "from-memory.flac", ChunkSize: meetingagent.MaxChunkSize})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	got, err := client.Audio.GetUpload(rpcContext(t, time.Minute), &meetingagentv1.GetUploadRequest{Name: upload.GetName()})
	if err != nil || got.GetUpload().GetSizeBytes() != int64(len(data)) || got.GetUpload().GetFilename() != "from-memory.flac" {
		t.Errorf("GetUpload(%s) = %v, %v", upload.GetName(), got, err)
	}
}

package meetingagent

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fakeServer is an in-process gRPC server with scripted Task and Audio services,
// reached through an in-memory listener: the unit tests check the client's own
// behaviour (options, retries, resumption) without the Python server.
type fakeServer struct {
	tasks fakeTasks
	audio fakeAudio

	mu             sync.Mutex
	authorizations []string // the authorization metadata of each call, in order
}

// startFake serves f until the test ends and returns the client options that reach it.
func startFake(t *testing.T, f *fakeServer) []Option {
	t.Helper()
	listener := bufconn.Listen(1 << 20)
	server := grpc.NewServer(grpc.ChainUnaryInterceptor(f.recordUnary), grpc.ChainStreamInterceptor(f.recordStream))
	meetingagentv1.RegisterTaskServiceServer(server, &f.tasks)
	meetingagentv1.RegisterAudioServiceServer(server, &f.audio)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	return []Option{
		WithInsecure(),
		WithDialOptions(grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return listener.DialContext(ctx)
		})),
		// Fast retries keep the tests short.
		WithRetryPolicy(RetryPolicy{
			MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
			BackoffMultiplier: 2, RetryableCodes: []codes.Code{codes.Unavailable},
		}),
	}
}

// newFakeClient starts f and returns a client of it with opts added.
func newFakeClient(t *testing.T, f *fakeServer, opts ...Option) *Client {
	t.Helper()
	c, err := New("passthrough:///fake", append(startFake(t, f), opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (f *fakeServer) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authorizations = append(f.authorizations, md.Get("authorization")...)
}

func (f *fakeServer) seenAuthorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.authorizations...)
}

func (f *fakeServer) recordUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	f.record(ctx)
	return handler(ctx, req)
}

func (f *fakeServer) recordStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	f.record(ss.Context())
	return handler(srv, ss)
}

// fakeTasks is a TaskService whose methods the tests script. Unset methods are
// UNIMPLEMENTED.
type fakeTasks struct {
	meetingagentv1.UnimplementedTaskServiceServer

	getTask    func(ctx context.Context, req *meetingagentv1.GetTaskRequest) (*meetingagentv1.GetTaskResponse, error)
	createTask func(ctx context.Context, req *meetingagentv1.CreateTaskRequest) (*meetingagentv1.CreateTaskResponse, error)
	// watchTask serves the attempt-th WatchTask call (counting from 1).
	watchTask func(attempt int, req *meetingagentv1.WatchTaskRequest, stream watchStream) error

	mu          sync.Mutex
	getCalls    int
	createCalls int
	watchAfters []int64 // after_sequence of each WatchTask call
}

func (f *fakeTasks) GetTask(ctx context.Context, req *meetingagentv1.GetTaskRequest) (*meetingagentv1.GetTaskResponse, error) {
	f.mu.Lock()
	f.getCalls++
	f.mu.Unlock()
	if f.getTask == nil {
		return f.UnimplementedTaskServiceServer.GetTask(ctx, req)
	}
	return f.getTask(ctx, req)
}

func (f *fakeTasks) CreateTask(ctx context.Context, req *meetingagentv1.CreateTaskRequest) (*meetingagentv1.CreateTaskResponse, error) {
	f.mu.Lock()
	f.createCalls++
	f.mu.Unlock()
	if f.createTask == nil {
		return f.UnimplementedTaskServiceServer.CreateTask(ctx, req)
	}
	return f.createTask(ctx, req)
}

func (f *fakeTasks) WatchTask(req *meetingagentv1.WatchTaskRequest, stream grpc.ServerStreamingServer[meetingagentv1.WatchTaskResponse]) error {
	f.mu.Lock()
	f.watchAfters = append(f.watchAfters, req.GetAfterSequence())
	attempt := len(f.watchAfters)
	f.mu.Unlock()
	if f.watchTask == nil {
		return f.UnimplementedTaskServiceServer.WatchTask(req, stream)
	}
	return f.watchTask(attempt, req, stream)
}

func (f *fakeTasks) counts() (get, create int, watchAfters []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.getCalls, f.createCalls, append([]int64(nil), f.watchAfters...)
}

// fakeAudio is an AudioService that records one upload and answers with upload.
type fakeAudio struct {
	meetingagentv1.UnimplementedAudioServiceServer

	// reject, when set, ends the call with this error right after the metadata.
	reject error

	mu       sync.Mutex
	metadata *meetingagentv1.UploadMetadata
	chunks   [][]byte
}

func (f *fakeAudio) UploadAudio(stream grpc.ClientStreamingServer[meetingagentv1.UploadAudioRequest, meetingagentv1.UploadAudioResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.metadata = first.GetMetadata()
	f.mu.Unlock()
	if f.reject != nil {
		return f.reject
	}
	for {
		req, err := stream.Recv()
		if err != nil {
			break
		}
		f.mu.Lock()
		f.chunks = append(f.chunks, req.GetChunk())
		f.mu.Unlock()
	}
	meta := first.GetMetadata()
	return stream.SendAndClose(&meetingagentv1.UploadAudioResponse{Upload: &meetingagentv1.Upload{
		Name: "uploads/u1", Filename: meta.GetFilename(), ContentType: meta.GetContentType(),
		SizeBytes: meta.GetSizeBytes(), Sha256: meta.GetSha256(), State: meetingagentv1.UploadState_UPLOAD_STATE_READY,
	}})
}

// richError returns a status error with the service's ErrorInfo and, when retry is
// positive, a RetryInfo.
func richError(code codes.Code, reason string, retry time.Duration) error {
	st := status.New(code, "scripted "+reason)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}}
	if retry > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retry)})
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil {
		panic(err)
	}
	return withDetails.Err()
}

// watchStream is the server side of a WatchTask call.
type watchStream = grpc.ServerStreamingServer[meetingagentv1.WatchTaskResponse]

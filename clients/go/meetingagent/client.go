package meetingagent

import (
	"context"
	"errors"
	"fmt"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// A Client calls one meeting-agent deployment. Its stubs share one connection, which
// reconnects by itself; a Client is safe for concurrent use. Close it when done.
type Client struct {
	// Tasks creates, gets, lists, cancels, deletes and watches tasks.
	Tasks meetingagentv1.TaskServiceClient
	// Audio uploads meeting recordings.
	Audio meetingagentv1.AudioServiceClient
	// Transcripts reads and exports transcripts and names speakers.
	Transcripts meetingagentv1.TranscriptServiceClient
	// Minutes lists, regenerates and exports minutes (artifacts).
	Minutes meetingagentv1.MinutesServiceClient
	// PromptTemplates manages the templates minutes are written with.
	PromptTemplates meetingagentv1.PromptTemplateServiceClient
	// HotwordSets manages the vocabulary that biases recognition.
	HotwordSets meetingagentv1.HotwordSetServiceClient
	// Usage reports provider costs.
	Usage meetingagentv1.UsageServiceClient
	// Capabilities describes the deployment's providers and limits.
	Capabilities meetingagentv1.CapabilitiesServiceClient
	// Health is the standard grpc.health.v1 service; it needs no token.
	Health healthpb.HealthClient

	conn   *grpc.ClientConn
	tokens *TokenCredentials // nil without a token option
}

// New returns a client of the server at address ("host:port", or any gRPC target
// such as "dns:///meeting-agent.internal:443"). It does not connect yet: the
// connection is made by the first call and remade whenever it breaks.
//
// Without options the client uses TLS with the system's roots, sends no token, bounds
// unary calls by [DefaultTimeout], pings idle streams ([DefaultKeepaliveTime]) and
// retries idempotent reads with [DefaultRetryPolicy]. Conflicting or invalid options
// make New fail.
func New(address string, opts ...Option) (*Client, error) {
	if address == "" {
		return nil, errors.New("meetingagent: empty server address")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.err(); err != nil {
		return nil, fmt.Errorf("meetingagent: %w", err)
	}
	if o.transport == nil {
		WithTLS(nil)(&o)
	}

	c := &Client{}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(o.transport),
		grpc.WithDefaultServiceConfig(o.retry.serviceConfigJSON()),
		grpc.WithChainUnaryInterceptor(timeoutInterceptor(o.timeout), c.refreshInterceptor),
	}
	if o.retry.MaxAttempts <= 1 {
		dialOpts = append(dialOpts, grpc.WithDisableRetry())
	}
	if o.keepalive.Time > 0 {
		dialOpts = append(dialOpts, grpc.WithKeepaliveParams(o.keepalive))
	}
	if o.tokens != nil {
		c.tokens = NewTokenCredentials(o.tokens, o.insecure)
		c.tokens.fixed = o.tokensBy == "WithToken"
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(c.tokens))
	}
	if o.userAgent != "" {
		dialOpts = append(dialOpts, grpc.WithUserAgent(o.userAgent))
	}
	dialOpts = append(dialOpts, o.dialOpts...)

	conn, err := grpc.NewClient(address, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("meetingagent: %w", err)
	}
	c.conn = conn
	c.Tasks = meetingagentv1.NewTaskServiceClient(conn)
	c.Audio = meetingagentv1.NewAudioServiceClient(conn)
	c.Transcripts = meetingagentv1.NewTranscriptServiceClient(conn)
	c.Minutes = meetingagentv1.NewMinutesServiceClient(conn)
	c.PromptTemplates = meetingagentv1.NewPromptTemplateServiceClient(conn)
	c.HotwordSets = meetingagentv1.NewHotwordSetServiceClient(conn)
	c.Usage = meetingagentv1.NewUsageServiceClient(conn)
	c.Capabilities = meetingagentv1.NewCapabilitiesServiceClient(conn)
	c.Health = healthpb.NewHealthClient(conn)
	return c, nil
}

// Conn returns the client's connection, for stubs of other services on the same
// server. Closing the client closes it.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; calls in flight fail with CANCELED.
func (c *Client) Close() error { return c.conn.Close() }

// timeoutInterceptor gives unary calls without a deadline one of timeout.
func timeoutInterceptor(timeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok && timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// refreshInterceptor retries a unary call once with a fresh token when the server
// rejected the cached one as expired (clocks differ, or the token was revoked early).
// The server rejected the call before doing anything, so the retry is safe for
// every method.
func (c *Client) refreshInterceptor(ctx context.Context, method string, req, reply any,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if c.dropExpiredToken(err) {
		err = invoker(ctx, method, req, reply, cc, opts...)
	}
	return err
}

// dropExpiredToken invalidates the cached token and reports true when err says it
// expired and the token source may have a newer one.
func (c *Client) dropExpiredToken(err error) bool {
	if c.tokens == nil || !c.tokens.refreshable() || status.Code(err) != codes.Unauthenticated ||
		ErrorReason(err) != ReasonTokenExpired {
		return false
	}
	c.tokens.Invalidate()
	return true
}

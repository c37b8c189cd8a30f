// Command meeting-agent-go turns meeting recordings into minutes with a
// meeting-agent server: it uploads the files, creates a task from them, shows the
// task's progress and prints its minutes (Markdown by default) on standard output.
// Progress and errors go to standard error.
//
// Usage:
//
//	meeting-agent-go [flags] FILE...
//
// For the embedded default server on this host:
//
//	export MEETING_AGENT_TOKEN=$(.venv/bin/meeting-agent dev-token)
//	go run ./cmd/meeting-agent-go -plaintext e2e/testdata/jfk.flac
//
// The flags -address and -token default to $MEETING_AGENT_ADDRESS and
// $MEETING_AGENT_TOKEN. Without -plaintext the connection uses TLS, verified with
// the system's roots or the PEM file of -ca-file. The exit status is 0 when the
// minutes were printed, 1 on an error (printed with its gRPC code and reason), 2 on
// bad usage and 130 when interrupted; an interrupted watch leaves the task running.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"github.com/meeting-agent/meeting-agent/clients/go/meetingagent"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// defaultAddress is where `python server.py` listens without configuration.
const defaultAddress = "127.0.0.1:50051"

// Exit statuses.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// main runs the command until it is done or interrupted.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the command line asks for.
type config struct {
	address, token   string
	plaintext        bool
	caFile           string
	title, language  string
	template         string
	requestID        string
	minutesFormat    string
	transcriptFormat string
	timeout          time.Duration
	quiet            bool
	files            []string
}

// minutesFormats are the values of -format.
var minutesFormats = map[string]meetingagentv1.MinutesFormat{
	"markdown": meetingagentv1.MinutesFormat_MINUTES_FORMAT_MARKDOWN,
	"json":     meetingagentv1.MinutesFormat_MINUTES_FORMAT_JSON,
}

// transcriptFormats are the values of -transcript.
var transcriptFormats = map[string]meetingagentv1.TranscriptFormat{
	"srt":  meetingagentv1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT,
	"vtt":  meetingagentv1.TranscriptFormat_TRANSCRIPT_FORMAT_WEBVTT,
	"text": meetingagentv1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT,
	"json": meetingagentv1.TranscriptFormat_TRANSCRIPT_FORMAT_JSON,
}

// parseFlags reads the command line; it returns an error after printing usage.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("meeting-agent-go", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: meeting-agent-go [flags] FILE...\n\n"+
			"Uploads meeting recordings, creates a task from them, shows its progress and\n"+
			"prints its minutes.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	address := os.Getenv("MEETING_AGENT_ADDRESS")
	if address == "" {
		address = defaultAddress
	}
	fs.StringVar(&cfg.address, "address", address, "server `host:port`, from $MEETING_AGENT_ADDRESS if set")
	// No default shown for the token: usage must not print it.
	fs.StringVar(&cfg.token, "token", "", "bearer `token` (default $MEETING_AGENT_TOKEN)")
	fs.BoolVar(&cfg.plaintext, "plaintext", false, "connect without TLS (the token travels unencrypted)")
	fs.StringVar(&cfg.caFile, "ca-file", "", "PEM `file` of the CA certificates that verify the server (default: the system's)")
	fs.StringVar(&cfg.title, "title", "", "meeting `title` (default: the first file's name)")
	fs.StringVar(&cfg.language, "language", "", "BCP-47 `language` of the meeting, e.g. en or zh (default: the server's)")
	fs.StringVar(&cfg.template, "template", "", "prompt template of the minutes, e.g. promptTemplates/default")
	fs.StringVar(&cfg.requestID, "request-id", "", "idempotency `key` of CreateTask: a retry with the same key returns the same task (default: random)")
	fs.StringVar(&cfg.minutesFormat, "format", "markdown", "minutes `format`: markdown or json")
	fs.StringVar(&cfg.transcriptFormat, "transcript", "", "also print the transcript before the minutes, in `format` srt, vtt, text or json")
	fs.DurationVar(&cfg.timeout, "timeout", time.Hour, "give up after this long")
	fs.BoolVar(&cfg.quiet, "quiet", false, "print no progress")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.files = fs.Args()
	if cfg.token == "" {
		cfg.token = os.Getenv("MEETING_AGENT_TOKEN")
	}
	usageError := func(format string, args ...any) (config, error) {
		fmt.Fprintf(stderr, "meeting-agent-go: "+format+"\n", args...)
		fs.Usage()
		return cfg, errors.New("bad usage")
	}
	switch {
	case len(cfg.files) == 0:
		return usageError("no FILE to process")
	case cfg.token == "":
		return usageError("no token: set -token or $MEETING_AGENT_TOKEN")
	case minutesFormats[cfg.minutesFormat] == 0:
		return usageError("-format %q: choose markdown or json", cfg.minutesFormat)
	case cfg.transcriptFormat != "" && transcriptFormats[cfg.transcriptFormat] == 0:
		return usageError("-transcript %q: choose srt, vtt, text or json", cfg.transcriptFormat)
	case cfg.plaintext && cfg.caFile != "":
		return usageError("-plaintext and -ca-file exclude each other")
	}
	if cfg.title == "" {
		cfg.title = filepath.Base(cfg.files[0])
	}
	return cfg, nil
}

// run is the command, minus the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	progress := stderr
	if cfg.quiet {
		progress = io.Discard
	}

	err = process(ctx, cfg, stdout, progress)
	if err == nil {
		return exitOK
	}
	printError(stderr, err)
	if status.Code(err) == codes.Canceled && ctx.Err() != nil {
		return exitInterrupted
	}
	return exitError
}

// process does the work: upload, create, watch, print.
func process(ctx context.Context, cfg config, stdout, progress io.Writer) error {
	opts := []meetingagent.Option{meetingagent.WithToken(cfg.token), meetingagent.WithUserAgent("meeting-agent-go")}
	switch {
	case cfg.plaintext:
		opts = append(opts, meetingagent.WithInsecure())
	case cfg.caFile != "":
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", cfg.caFile)
		}
		opts = append(opts, meetingagent.WithTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	}
	client, err := meetingagent.New(cfg.address, opts...)
	if err != nil {
		return err
	}
	defer client.Close()

	sources := make([]*meetingagentv1.AudioSource, 0, len(cfg.files))
	for _, path := range cfg.files {
		upload, err := client.UploadFile(ctx, path, &meetingagent.UploadOptions{Progress: uploadProgress(progress, path)})
		if err != nil {
			return fmt.Errorf("uploading %s: %w", path, err)
		}
		fmt.Fprintf(progress, "uploaded %s as %s\n", path, upload.GetName())
		sources = append(sources, meetingagent.UploadSource(upload.GetName()))
	}

	requestID := cfg.requestID
	if requestID == "" {
		requestID = randomID()
	}
	created, err := client.Tasks.CreateTask(ctx, &meetingagentv1.CreateTaskRequest{
		Task: &meetingagentv1.Task{
			DisplayName:  cfg.title,
			AudioSources: sources,
			Options:      &meetingagentv1.TaskOptions{LanguageCode: cfg.language, PromptTemplate: cfg.template},
		},
		RequestId: requestID,
	})
	if err != nil {
		return fmt.Errorf("creating the task: %w", err)
	}
	name := created.GetTask().GetName()
	fmt.Fprintf(progress, "created %s (%q)\n", name, cfg.title)

	started := time.Now()
	task, err := client.WatchUntilDone(ctx, name, &meetingagent.WatchOptions{
		OnEvent: func(e *meetingagentv1.TaskEvent) {
			fmt.Fprintf(progress, "[%3d%%] %-9s %-22s %s\n", e.GetProgressPercent(), stateName(e.GetState()),
				stageName(e.GetStage()), e.GetMessage())
		},
		OnReconnect: func(after int64, err error) {
			fmt.Fprintf(progress, "the watch stream broke (%v); resuming after event %d\n", status.Code(err), after)
		},
	})
	if err != nil {
		return fmt.Errorf("watching %s (it keeps running on the server): %w", name, err)
	}
	if err := meetingagent.TaskError(task); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(progress, "%s succeeded in %v\n", name, time.Since(started).Round(100*time.Millisecond))

	if cfg.transcriptFormat != "" {
		transcript, err := client.Transcripts.ExportTranscript(ctx, &meetingagentv1.ExportTranscriptRequest{
			Name: task.GetTranscript(), Format: transcriptFormats[cfg.transcriptFormat],
		})
		if err != nil {
			return fmt.Errorf("exporting the transcript: %w", err)
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", transcript.GetContent()); err != nil {
			return err
		}
	}
	minutes, err := client.ExportMinutes(ctx, name, minutesFormats[cfg.minutesFormat])
	if err != nil {
		return fmt.Errorf("exporting the minutes: %w", err)
	}
	_, err = stdout.Write(minutes.GetContent())
	return err
}

// uploadProgress reports an upload's progress in steps of a tenth.
func uploadProgress(w io.Writer, path string) func(sent, total int64) {
	lastTenth := int64(-1)
	return func(sent, total int64) {
		if total <= 0 {
			return
		}
		if tenth := sent * 10 / total; tenth != lastTenth {
			lastTenth = tenth
			fmt.Fprintf(w, "uploading %s: %3d%% of %d bytes\n", filepath.Base(path), tenth*10, total)
		}
	}
}

// printError prints err with what a caller branches on: code, reason, fields, advice.
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "meeting-agent-go: %v\n", err)
	st, ok := status.FromError(err)
	if !ok {
		return
	}
	fmt.Fprintf(w, "  code: %v", st.Code())
	if reason := meetingagent.ErrorReason(err); reason != "" {
		fmt.Fprintf(w, ", reason: %s", reason)
	}
	fmt.Fprintln(w)
	for _, v := range meetingagent.FieldViolations(err) {
		fmt.Fprintf(w, "  field %s: %s\n", v.GetField(), v.GetDescription())
	}
	if delay, ok := meetingagent.RetryDelay(err); ok {
		fmt.Fprintf(w, "  the server advises retrying after %v\n", delay)
	}
}

// stateName is a task state without its enum prefix, e.g. RUNNING.
func stateName(s meetingagentv1.TaskState) string {
	return strings.TrimPrefix(s.String(), "TASK_STATE_")
}

// stageName is a task stage without its enum prefix, e.g. TRANSCRIBE.
func stageName(s meetingagentv1.TaskStage) string {
	return strings.TrimPrefix(s.String(), "TASK_STAGE_")
}

// randomID returns a fresh idempotency key.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"github.com/meeting-agent/meeting-agent/clients/go/meetingagent"
)

// sample is the recording the end-to-end tests use.
const sample = "../../e2e/testdata/jfk.flac"

// server returns the address and token of the server under test (see
// clients/go/e2e), skipping the test when there is none, or failing it on CI.
func server(t *testing.T) (address, token string) {
	t.Helper()
	address, token = os.Getenv("MEETING_AGENT_ADDRESS"), os.Getenv("MEETING_AGENT_TOKEN")
	if address == "" || token == "" {
		const msg = "MEETING_AGENT_ADDRESS and MEETING_AGENT_TOKEN are not set; run scripts/run-go-e2e.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return address, token
}

func runCommand(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestRecordingToMinutes runs the command as the README shows it.
func TestRecordingToMinutes(t *testing.T) {
	address, token := server(t)
	code, stdout, stderr := runCommand(t, "-plaintext", "-address", address, "-token", token,
		"-title", "Command e2e", "-transcript", "text", sample)
	t.Logf("standard error:\n%s", stderr)
	if code != exitOK {
		t.Fatalf("exit status %d, want 0", code)
	}
	if task := regexp.MustCompile(`created (tasks/\S+)`).FindStringSubmatch(stderr); task != nil {
		t.Cleanup(func() { deleteTask(t, address, token, task[1]) })
	}
	for _, want := range []string{"uploading jfk.flac: 100%", "uploaded ", "created tasks/", "SUCCEEDED", "succeeded in"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("standard error lacks %q", want)
		}
	}
	lower := strings.ToLower(stdout)
	transcriptAt := strings.Index(lower, "ask not what your country can do for you")
	minutesAt := strings.Index(stdout, "Command e2e")
	if transcriptAt < 0 || minutesAt < 0 {
		t.Fatalf("standard output = %q, want the transcript and the minutes titled after the task", stdout)
	}
	if transcriptAt > minutesAt {
		t.Error("the transcript does not come before the minutes")
	}
}

func TestErrorsShowTheirReason(t *testing.T) {
	address, _ := server(t)
	code, stdout, stderr := runCommand(t, "-plaintext", "-address", address, "-token", "not-a-jwt", "-quiet", sample)
	if code != exitError || stdout != "" {
		t.Errorf("exit status %d with output %q, want 1 and none", code, stdout)
	}
	if !strings.Contains(stderr, "code: Unauthenticated, reason: MALFORMED_TOKEN") {
		t.Errorf("standard error = %q, want the code and the reason", stderr)
	}
}

func TestUsage(t *testing.T) {
	t.Setenv("MEETING_AGENT_TOKEN", "t")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "no FILE to process"},
		{[]string{"-format", "pdf", "a.wav"}, exitUsage, `-format "pdf"`},
		{[]string{"-transcript", "doc", "a.wav"}, exitUsage, `-transcript "doc"`},
		{[]string{"-plaintext", "-ca-file", "ca.pem", "a.wav"}, exitUsage, "exclude each other"},
		{[]string{"-no-such-flag"}, exitUsage, "flag provided but not defined"},
		{[]string{"-h"}, exitOK, "Usage: meeting-agent-go"},
		{[]string{"-plaintext", "-address", "127.0.0.1:1", "missing.wav"}, exitError, "no such file"},
	}
	for _, tt := range tests {
		code, _, stderr := runCommand(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("meeting-agent-go %q: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
	t.Setenv("MEETING_AGENT_TOKEN", "")
	if code, _, stderr := runCommand(t, "a.wav"); code != exitUsage || !strings.Contains(stderr, "no token") {
		t.Errorf("without a token: exit %d, stderr %q", code, stderr)
	}
}

func deleteTask(t *testing.T, address, token, name string) {
	client, err := meetingagent.New(address, meetingagent.WithInsecure(), meetingagent.WithToken(token))
	if err != nil {
		t.Error(err)
		return
	}
	defer client.Close()
	if _, err := client.Tasks.DeleteTask(context.Background(), &meetingagentv1.DeleteTaskRequest{Name: name}); err != nil {
		t.Errorf("DeleteTask(%s): %v", name, err)
	}
}

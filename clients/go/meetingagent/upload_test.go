package meetingagent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestUploadFileSendsMetadataThenChunks(t *testing.T) {
	content := bytes.Repeat([]byte("meeting audio "), 180) // 2520 bytes
	path := filepath.Join(t.TempDir(), "Weekly Sync.FLAC")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{}
	c := newFakeClient(t, f)

	var progress []int64
	upload, err := c.UploadFile(context.Background(), path, &UploadOptions{
		ChunkSize: 1000,
		Progress: func(sent, total int64) {
			if total != int64(len(content)) {
				t.Errorf("progress total = %d, want %d", total, len(content))
			}
			progress = append(progress, sent)
		},
	})
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	sum := sha256.Sum256(content)
	meta := f.audio.metadata
	if meta.GetFilename() != "Weekly Sync.FLAC" || meta.GetContentType() != "audio/flac" ||
		meta.GetSizeBytes() != int64(len(content)) || meta.GetSha256() != hex.EncodeToString(sum[:]) {
		t.Errorf("metadata = %v", meta)
	}
	var sizes []int
	for _, chunk := range f.audio.chunks {
		sizes = append(sizes, len(chunk))
	}
	if !slices.Equal(sizes, []int{1000, 1000, 520}) {
		t.Errorf("chunk sizes = %v, want [1000 1000 520]", sizes)
	}
	if got := bytes.Join(f.audio.chunks, nil); !bytes.Equal(got, content) {
		t.Error("the chunks do not add up to the file")
	}
	if !slices.Equal(progress, []int64{0, 1000, 2000, 2520}) {
		t.Errorf("progress = %v, want [0 1000 2000 2520]", progress)
	}
	if upload.GetName() != "uploads/u1" {
		t.Errorf("upload = %v", upload)
	}
}

func TestUploadReturnsTheServersError(t *testing.T) {
	f := &fakeServer{audio: fakeAudio{reject: richError(codes.InvalidArgument, "UPLOAD_TOO_LARGE", 0)}}
	c := newFakeClient(t, f)
	// Larger than the stream's flow-control window, so sending runs into the
	// server's early answer.
	content := bytes.Repeat([]byte{1}, 4<<20)
	_, err := c.Upload(context.Background(), bytes.NewReader(content), &UploadOptions{Filename: "big.wav"})
	if status.Code(err) != codes.InvalidArgument || ErrorReason(err) != "UPLOAD_TOO_LARGE" {
		t.Fatalf("Upload error = %v (reason %q), want INVALID_ARGUMENT with reason UPLOAD_TOO_LARGE", err, ErrorReason(err))
	}
	if f.audio.metadata.GetContentType() != "audio/wav" {
		t.Errorf("content type = %q, want audio/wav", f.audio.metadata.GetContentType())
	}
}

func TestUploadRejectsBadOptions(t *testing.T) {
	c := newFakeClient(t, &fakeServer{})
	ctx := context.Background()
	if _, err := c.Upload(ctx, strings.NewReader("x"), nil); err == nil || !strings.Contains(err.Error(), "Filename is required") {
		t.Errorf("Upload without a file name: error %v", err)
	}
	if _, err := c.Upload(ctx, strings.NewReader("x"), &UploadOptions{Filename: "a.wav", ChunkSize: MaxChunkSize + 1}); err == nil {
		t.Error("Upload with an oversized chunk succeeded")
	}
	if _, err := c.UploadFile(ctx, filepath.Join(t.TempDir(), "missing.wav"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("UploadFile of a missing file: error %v, want a not-exist error", err)
	}
}

func TestContentTypeOf(t *testing.T) {
	for name, want := range map[string]string{
		"a.flac": "audio/flac", "B.M4A": "audio/mp4", "c.mp3": "audio/mpeg", "d.wav": "audio/wav",
		"e.mp4": "video/mp4", "f.unknownext": "application/octet-stream", "noext": "application/octet-stream",
	} {
		if got := ContentTypeOf(name); got != want {
			t.Errorf("ContentTypeOf(%q) = %q, want %q", name, got, want)
		}
	}
}

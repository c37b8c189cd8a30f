package meetingagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
)

// Chunk sizes of [Client.UploadFile].
const (
	// DefaultChunkSize is the size of the chunks UploadFile sends.
	DefaultChunkSize = 256 << 10
	// MaxChunkSize is the largest chunk the service accepts (Limits.max_chunk_bytes
	// of GetCapabilities says what a deployment accepts).
	MaxChunkSize = 1 << 20
)

// UploadOptions adjusts [Client.UploadFile] and [Client.Upload]; the zero value
// (or nil) uses the defaults.
type UploadOptions struct {
	// Filename is the name the server records; default: the file's base name.
	Filename string
	// ContentType is the file's MIME type; default: guessed from the extension of
	// Filename (audio/flac for .flac, audio/mp4 for .m4a, ...), else
	// application/octet-stream. The server decodes any common format either way.
	ContentType string
	// ChunkSize is the size of each chunk, at most [MaxChunkSize]; default
	// [DefaultChunkSize].
	ChunkSize int
	// Progress, when set, is called after the metadata (sent 0) and after every
	// chunk with the bytes sent so far and the file's size.
	Progress func(sent, total int64)
}

// audioTypes maps extensions of common recording formats to MIME types, where Go's
// table (mime.TypeByExtension) depends on the system.
var audioTypes = map[string]string{
	".aac":  "audio/aac",
	".amr":  "audio/amr",
	".flac": "audio/flac",
	".m4a":  "audio/mp4",
	".mkv":  "video/x-matroska",
	".mov":  "video/quicktime",
	".mp3":  "audio/mpeg",
	".mp4":  "video/mp4",
	".oga":  "audio/ogg",
	".ogg":  "audio/ogg",
	".opus": "audio/opus",
	".wav":  "audio/wav",
	".webm": "audio/webm",
	".wma":  "audio/x-ms-wma",
}

// ContentTypeOf guesses the MIME type of a file from its name.
func ContentTypeOf(filename string) string {
	ext := strings.ToLower(filepath.Ext(filename))
	if t, ok := audioTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// UploadFile uploads the file at path with AudioService.UploadAudio: it hashes the
// file, sends its metadata (name, type, size, SHA-256) and then its bytes in chunks,
// and returns the stored upload, whose name ("uploads/…") goes into a task's
// AudioSource. The server stores the file only if size and checksum match; a file
// changed while being sent fails with reason UPLOAD_CHECKSUM_MISMATCH.
//
// ctx bounds the whole upload (the client's default timeout does not apply to it).
// The upload is not retried automatically: on an UNAVAILABLE error, call it again.
func (c *Client) UploadFile(ctx context.Context, path string, opts *UploadOptions) (*meetingagentv1.Upload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("meetingagent: upload: %w", err)
	}
	defer f.Close()
	o := UploadOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Filename == "" {
		o.Filename = filepath.Base(path)
	}
	return c.Upload(ctx, f, &o)
}

// Upload is [Client.UploadFile] for content that is not a file: it reads r once to
// hash it, seeks back to its start and reads it again to send it. opts.Filename is
// required.
func (c *Client) Upload(ctx context.Context, r io.ReadSeeker, opts *UploadOptions) (*meetingagentv1.Upload, error) {
	o := UploadOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Filename == "" {
		return nil, errors.New("meetingagent: upload: UploadOptions.Filename is required")
	}
	if o.ContentType == "" {
		o.ContentType = ContentTypeOf(o.Filename)
	}
	switch {
	case o.ChunkSize == 0:
		o.ChunkSize = DefaultChunkSize
	case o.ChunkSize < 0 || o.ChunkSize > MaxChunkSize:
		return nil, fmt.Errorf("meetingagent: upload: chunk size %d is not between 1 and %d", o.ChunkSize, MaxChunkSize)
	}

	hash := sha256.New()
	size, err := io.Copy(hash, r)
	if err != nil {
		return nil, fmt.Errorf("meetingagent: upload: reading %s: %w", o.Filename, err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("meetingagent: upload: rewinding %s: %w", o.Filename, err)
	}
	metadata := &meetingagentv1.UploadMetadata{
		Filename:    o.Filename,
		ContentType: o.ContentType,
		SizeBytes:   size,
		Sha256:      hex.EncodeToString(hash.Sum(nil)),
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if sending fails half-way
	stream, err := c.Audio.UploadAudio(ctx)
	if err != nil {
		return nil, err
	}
	progress := func(sent int64) {
		if o.Progress != nil {
			o.Progress(sent, size)
		}
	}
	// send returns false when the server has ended the call; CloseAndRecv says why.
	send := func(req *meetingagentv1.UploadAudioRequest) (bool, error) {
		err := stream.Send(req)
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return err == nil, err
	}
	ok, err := send(&meetingagentv1.UploadAudioRequest{
		Payload: &meetingagentv1.UploadAudioRequest_Metadata{Metadata: metadata},
	})
	if err != nil {
		return nil, err
	}
	if ok {
		progress(0)
		var sent int64
		for ok {
			// A new buffer each time: gRPC may hold on to a sent message (stats
			// handlers, tracing), so it must not change afterwards.
			buf := make([]byte, o.ChunkSize)
			n, readErr := io.ReadFull(r, buf)
			if n > 0 {
				ok, err = send(&meetingagentv1.UploadAudioRequest{
					Payload: &meetingagentv1.UploadAudioRequest_Chunk{Chunk: buf[:n]},
				})
				if err != nil {
					return nil, err
				}
				sent += int64(n)
				if ok {
					progress(sent)
				}
			}
			if errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF) {
				break
			}
			if readErr != nil {
				return nil, fmt.Errorf("meetingagent: upload: reading %s: %w", o.Filename, readErr)
			}
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return resp.GetUpload(), nil
}

// UploadSource returns the audio source of a task that plays the upload called
// upload ("uploads/…", the name [Client.UploadFile] returned).
func UploadSource(upload string) *meetingagentv1.AudioSource {
	return &meetingagentv1.AudioSource{Source: &meetingagentv1.AudioSource_Upload{Upload: upload}}
}

package e2e_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// cutProxy is a TCP proxy in front of the server that breaks the first connection
// it carries right after the server's first gRPC message on it: it forwards the
// HTTP/2 frames from the server unchanged until the first DATA frame, shortens that
// frame to end exactly where the first length-prefixed gRPC message ends, and then
// closes both sides of the connection. Later connections are forwarded untouched.
//
// The client therefore always receives exactly one message of its first stream and
// then loses the connection, however fast the server is, which makes a forced
// reconnection in the middle of a WatchTask stream deterministic. The server sees
// an ordinary dropped connection and keeps running.
type cutProxy struct {
	listener net.Listener
	target   string

	mu          sync.Mutex
	armed       bool // the next connection is to be cut
	connections int
	cuts        int
	conns       []net.Conn
}

// startCutProxy listens on a free local port and forwards to target until the test ends.
func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &cutProxy{listener: listener, target: target, armed: true}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.serve(t)
	}()
	t.Cleanup(func() {
		_ = listener.Close()
		<-done
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.Close()
		}
	})
	return p
}

// Addr is the address clients dial instead of the server's.
func (p *cutProxy) Addr() string { return p.listener.Addr().String() }

// Stats returns how many connections the proxy accepted and how many it cut.
func (p *cutProxy) Stats() (connections, cuts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connections, p.cuts
}

func (p *cutProxy) serve(t *testing.T) {
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return // closed at the end of the test
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			t.Errorf("proxy: dialing the server: %v", err)
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.connections++
		cut := p.armed
		p.armed = false
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()

		go func() {
			_, _ = io.Copy(server, client)
			_ = server.Close()
		}()
		go func() {
			if cut {
				if err := forwardFirstMessage(client, server); err != nil {
					t.Errorf("proxy: %v", err)
				} else {
					p.mu.Lock()
					p.cuts++
					p.mu.Unlock()
				}
				_ = client.Close()
				_ = server.Close()
				return
			}
			_, _ = io.Copy(client, server)
			_ = client.Close()
		}()
	}
}

// HTTP/2 framing (RFC 9113 §4.1, §6.1).
const (
	frameHeaderLen = 9
	frameData      = 0x0
	flagPadded     = 0x8
	grpcPrefixLen  = 5 // compressed flag and big-endian length before every gRPC message
)

// forwardFirstMessage copies HTTP/2 frames from server to client until the client
// has the first complete gRPC message of any stream, and returns.
func forwardFirstMessage(client io.Writer, server io.Reader) error {
	var prefix []byte   // the gRPC prefix of the first message, as it arrives
	var remaining int64 // bytes of its body still to forward, once the prefix is complete
	header := make([]byte, frameHeaderLen)
	for {
		if _, err := io.ReadFull(server, header); err != nil {
			return fmt.Errorf("reading a frame header from the server: %w", err)
		}
		length := int(header[0])<<16 | int(header[1])<<8 | int(header[2])
		frameType, flags := header[3], header[4]
		streamID := binary.BigEndian.Uint32(header[5:9]) & 0x7fffffff
		payload := make([]byte, length)
		if _, err := io.ReadFull(server, payload); err != nil {
			return fmt.Errorf("reading a frame from the server: %w", err)
		}
		if frameType != frameData || streamID == 0 {
			if _, err := client.Write(append(header, payload...)); err != nil {
				return err
			}
			continue
		}

		data := payload
		if flags&flagPadded != 0 {
			if len(data) == 0 || int(data[0]) >= len(data) {
				return errors.New("malformed padded DATA frame")
			}
			data = data[1 : len(data)-int(data[0])]
		}
		// Walk the data up to the end of the first message.
		end := 0
		for end < len(data) {
			if len(prefix) < grpcPrefixLen {
				n := min(grpcPrefixLen-len(prefix), len(data)-end)
				prefix = append(prefix, data[end:end+n]...)
				end += n
				if len(prefix) == grpcPrefixLen {
					remaining = int64(binary.BigEndian.Uint32(prefix[1:]))
				}
				continue
			}
			n := min(remaining, int64(len(data)-end))
			end += int(n)
			remaining -= n
			if remaining == 0 {
				break
			}
		}
		complete := len(prefix) == grpcPrefixLen && remaining == 0
		// Forward data[:end] as an unpadded DATA frame that does not end the stream.
		out := make([]byte, frameHeaderLen, frameHeaderLen+end)
		out[0], out[1], out[2] = byte(end>>16), byte(end>>8), byte(end)
		out[3], out[4] = frameData, 0
		binary.BigEndian.PutUint32(out[5:9], streamID)
		if _, err := client.Write(append(out, data[:end]...)); err != nil {
			return err
		}
		if complete {
			return nil
		}
	}
}

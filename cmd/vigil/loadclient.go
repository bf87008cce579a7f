package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// loadConn is one keep-alive HTTP/1.1 connection of the load tool. It
// writes a request and reads its answer with nothing in between: net/http's
// client, with a goroutine pair and channels per connection, cost the
// machine more CPU per request than the server's own HTTP handling, on a
// 2-core machine where the two share the cores, as a wrk-style tool
// would not.
type loadConn struct {
	addr, host, path string
	conn             net.Conn
	r                *bufio.Reader
	w                *bufio.Writer
}

func newLoadConn(rawURL string) (*loadConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("the load tool speaks plain http, not %q", u.Scheme)
	}
	path := u.RequestURI()
	return &loadConn{addr: u.Host, host: u.Host, path: path}, nil
}

// loadAnswer is what the load tool needs of an answer.
type loadAnswer struct {
	status     int
	retryAfter bool
}

// post sends body and reads the answer, connecting first when needed. On
// any error the connection is dropped; the next post connects again.
func (c *loadConn) post(ctx context.Context, headers string, body []byte) (loadAnswer, error) {
	if c.conn == nil {
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return loadAnswer{}, err
		}
		c.conn, c.r, c.w = conn, bufio.NewReaderSize(conn, 16<<10), bufio.NewWriterSize(conn, 16<<10)
	}
	// A request under way when the run ends is answered, not cut; one
	// that takes 30 s fails.
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	a, keep, err := c.exchange(headers, body)
	if err != nil || !keep {
		c.close()
	}
	return a, err
}

func (c *loadConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *loadConn) exchange(headers string, body []byte) (a loadAnswer, keep bool, err error) {
	c.w.WriteString("POST " + c.path + " HTTP/1.1\r\nHost: " + c.host + "\r\n")
	c.w.WriteString(headers)
	c.w.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	c.w.Write(body)
	if err := c.w.Flush(); err != nil {
		return a, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return a, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return a, false, fmt.Errorf("not an HTTP answer: %q", line)
	}
	if a.status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return a, false, fmt.Errorf("status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return a, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return a, false, fmt.Errorf("header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return a, false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Retry-After")):
			a.retryAfter = true
		}
	}
	switch {
	case a.status < 200 || a.status == 204 || a.status == 304:
		// No body (RFC 9112, 6.3). A 1xx is followed by the real answer,
		// which the intake never sends; the connection is dropped.
		keep = keep && a.status >= 200
	case chunked:
		err = discardChunked(c.r)
	case length >= 0:
		_, err = c.r.Discard(length)
	default:
		_, err = io.Copy(io.Discard, c.r) // to the end of the connection
		keep = false
	}
	return a, keep, err
}

// discardChunked reads a chunked body to its end.
func discardChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return fmt.Errorf("chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, to the empty line
				line, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

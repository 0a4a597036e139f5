// Command ferretdb-test-server runs an embedded FerretDB (SQLite backend) on 127.0.0.1 for
// assetstore's tests: it prints the port on stdout once it accepts connections, and stops when
// stdin closes, its parent process goes away, or it receives SIGINT/SIGTERM, so a crashed test
// run never leaves it behind.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: a free one)")
	dir := flag.String("dir", "", "SQLite data directory (default: a temporary one, removed on exit)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error (logs go to stderr)")
	flag.Parse()

	if err := run(*port, *dir, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-test-server:", err)
		os.Exit(1)
	}
}

func run(port int, dir, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return err
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ferretdb-test-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go stopWhenParentGoes(stop)

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: net.JoinHostPort("127.0.0.1", fmt.Sprint(port))},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: dir + "/"}).String(),
	})
	if err != nil {
		return err
	}

	done := make(chan error, 1)
	go func() { done <- db.Run(ctx) }()

	uri, err := url.Parse(db.MongoDBURI()) // blocks until the listener is up
	if err != nil {
		return err
	}
	fmt.Println(uri.Port())
	return <-done
}

// stopWhenParentGoes calls stop when stdin reaches EOF (the parent closed its end of the pipe,
// or died) or when the process is re-parented (the parent died without closing stdin).
func stopWhenParentGoes(stop func()) {
	parent := os.Getppid()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	for os.Getppid() == parent {
		time.Sleep(500 * time.Millisecond)
	}
	stop()
}

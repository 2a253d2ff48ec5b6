// Command ferretdb runs the embeddable FerretDB v1 (SQLite handler) as a local
// MongoDB-wire-protocol test server for epochlog. Use scripts/ferretdb, not this directly.
//
// Building the upstream cmd/ferretdb from the module cache panics at start-up
// (build/version/version.txt is not in the module, FerretDB issue 2982); the
// embeddable package skips that check because our main module is not FerretDB's.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:0", "loopback TCP address to listen on (port 0 picks a free one)")
	dataDir := flag.String("data-dir", "", "directory for the SQLite databases (created if missing)")
	portFile := flag.String("port-file", "", "write the port actually listened on to this file once ready")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	ping := flag.String("ping", "", "instead of serving, send ping to this MongoDB URI; exit 0 if it answers")
	flag.Parse()

	if *ping != "" {
		if err := doPing(*ping); err != nil {
			fmt.Fprintln(os.Stderr, "ping:", err)
			os.Exit(1)
		}
		return
	}

	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Fatalf("-listen-addr %q: must be a loopback IP:port", *listen)
	}
	if *dataDir == "" {
		log.Fatal("-data-dir is required")
	}
	dir, err := filepath.Abs(*dataDir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		log.Fatal(err)
	}

	var level slog.Level
	if err = level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Telemetry: the embeddable package never starts the reporter and marks it disabled.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/", // a directory URI: one <db>.sqlite file per database
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	uri := f.MongoDBURI() // blocks until the listener is bound
	if *portFile != "" {
		u, err := url.Parse(uri)
		if err != nil {
			log.Fatal(err)
		}
		if err = os.WriteFile(*portFile, []byte(u.Port()+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	logger.Info("epochlog test server listening", "uri", uri, "data_dir", dir)

	if err = <-done; err != nil {
		log.Fatal(err)
	}
	logger.Info("stopped")
}

func doPing(uri string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := mongo.Connect(ctx, options.Client().ApplyURI(uri).SetServerSelectionTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer c.Disconnect(context.Background())
	return c.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

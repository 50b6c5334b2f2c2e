// Command berth is the berth CLI: docker's verbs, run against a machine.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/berth-dev/berth/host/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := client.Execute(ctx)
	stop()
	os.Exit(code)
}

package main

import "context"

// run measures what o.mode asks for.
func run(ctx context.Context, o options) error {
	env, err := newEnv(ctx, o)
	if err != nil {
		return err
	}
	defer env.close()
	if o.mode == "boot" {
		return benchBoot(ctx, env, o)
	}
	return benchDisk(ctx, env, o)
}

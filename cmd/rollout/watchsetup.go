package main

import "github.com/spf13/cobra"

func newWatchSetupCmd() *cobra.Command { return &cobra.Command{Use: "setup"} }

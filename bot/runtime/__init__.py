"""The long-running process: run loop, scheduler, leadership, web server, logging, memory."""

"""A worker process: broker, actors, scheduler and runner."""

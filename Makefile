# Convenience aliases for ./dev, which needs nothing but bash (make is not on a fresh Debian).
.PHONY: demo test bench
demo:
	./dev demo
test:
	./dev test
bench:
	./dev bench graph

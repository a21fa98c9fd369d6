/*
 * Driving a libuv loop from a test: run it until a condition holds or a
 * deadline passes, or for a fixed time. The tests that put endpoints
 * (epworld.h) and nodes (nodefix.h) on one loop in one process use these.
 */
#ifndef SG_TEST_LOOPRUN_H
#define SG_TEST_LOOPRUN_H

#include <stdint.h>

#include <uv.h>

/* Runs loop until pred(ud) holds or timeout_ms pass, whichever comes
 * first; a one-shot timer bounds the wait, so the loop never blocks past
 * the deadline. pred is checked before the first iteration and after each.
 * Then runs the loop once more without waiting (so the timer's handle is
 * closed) and returns pred(ud) as it is then. */
int loop_run_until(uv_loop_t *loop, int (*pred)(void *ud), void *ud,
		   uint64_t timeout_ms);

/* Runs loop for ms (nothing to wait for: lets whatever happens, happen). */
void loop_run_for(uv_loop_t *loop, uint64_t ms);

#endif

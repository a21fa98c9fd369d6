/*
 * Driving a libuv loop from a test (looprun.h).
 */
#include "looprun.h"

static void on_deadline(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

int loop_run_until(uv_loop_t *loop, int (*pred)(void *ud), void *ud,
		   uint64_t timeout_ms)
{
	uv_timer_t t;
	int expired = 0;

	uv_timer_init(loop, &t);
	t.data = &expired;
	uv_timer_start(&t, on_deadline, timeout_ms, 0);
	while (!expired && !pred(ud))
		uv_run(loop, UV_RUN_ONCE);
	uv_timer_stop(&t);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return pred(ud);
}

static int never(void *ud)
{
	(void)ud;
	return 0;
}

void loop_run_for(uv_loop_t *loop, uint64_t ms)
{
	(void)loop_run_until(loop, never, NULL, ms);
}

/*
 * Scenario test (simulator, optimised build): the same seed gives the same
 * output byte for byte (a join and a lossy SWIM run, printed as JSON), and
 * another seed gives a different run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static char *capture(const char *name, uint64_t seed, double loss, size_t *len)
{
	sg_scn s;
	FILE *f = tmpfile();
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	sg_scn_default(&s, name);
	s.nodes = 300;
	s.seed = seed;
	s.json = 1;
	s.out = f;
	if (loss > 0) {
		s.loss = loss;
		s.duration_ms = 60000;
	}
	/* Only the output matters here (its properties are other tests'). */
	if (sg_scn_run(&s) < 0) {
		fclose(f);
		return NULL;
	}
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return buf;
}

static int check(const char *name, double loss)
{
	size_t la, lb, lc;
	char *a = capture(name, 7, loss, &la);
	char *b = capture(name, 7, loss, &lb);
	char *c = capture(name, 8, loss, &lc);
	int ok = a != NULL && b != NULL && c != NULL && la == lb &&
		 memcmp(a, b, la) == 0 && (la != lc || memcmp(a, c, la) != 0);

	printf("%s: %zu bytes of output, same seed identical: %s, other "
	       "seed differs: %s\n",
	       name, la, a && b && la == lb && !memcmp(a, b, la) ? "yes" : "NO",
	       a && c && (la != lc || memcmp(a, c, la)) ? "yes" : "NO");
	free(a);
	free(b);
	free(c);
	return ok;
}

int main(void)
{
	int ok = check("join", 0) & check("swim", 0.1);

	return ok ? 0 : 1;
}

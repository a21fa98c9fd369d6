/*
 * Constant-time helpers shared by the crypto code.
 *
 * SG_DECLASSIFY(p, len) marks bytes that the standard makes public (the
 * seed rho, a rejection-sampling decision, a finished signature) as no
 * longer secret. The constant-time tests run the code under valgrind
 * memcheck with the secret inputs marked undefined ("ctgrind"): any branch
 * or memory index that depends on them is then reported, except on what
 * was declassified. Outside valgrind the client request is a handful of
 * no-op instructions; without the valgrind header it compiles to nothing.
 */
#ifndef SG_UTIL_CT_H
#define SG_UTIL_CT_H

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SG_DECLASSIFY(p, len) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (len)))
#endif
#endif
#ifndef SG_DECLASSIFY
#define SG_DECLASSIFY(p, len) ((void)(p), (void)(len))
#endif

#endif

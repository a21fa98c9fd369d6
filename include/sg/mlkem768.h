/*
 * ML-KEM-768 (FIPS 203, August 2024): the module-lattice key-encapsulation
 * mechanism with k = 3, eta1 = eta2 = 2, d_u = 10, d_v = 4.
 *
 * The API is pure: every random input (the 64-byte key-generation seed d || z
 * and the 32-byte encapsulation randomness m) is passed in by the caller, who
 * draws it from an approved RBG (sg_random()). These are the "internal"
 * algorithms of FIPS 203 section 6 (Alg. 16-18) wrapped with the input checks
 * of section 7.2 and 7.3, so the ACVP vectors replay through them directly.
 * Nothing here allocates; every secret intermediate is wiped before return.
 * Decapsulation runs in constant time with respect to the secret key and the
 * decrypted message, including the implicit-rejection choice.
 *
 * Outputs must not overlap inputs.
 */
#ifndef SG_MLKEM768_H
#define SG_MLKEM768_H

#include "common.h"

#define SG_MLKEM768_EK_LEN 1184  /* encapsulation (public) key */
#define SG_MLKEM768_DK_LEN 2400  /* decapsulation key: dk_PKE||ek||H(ek)||z */
#define SG_MLKEM768_CT_LEN 1088  /* ciphertext */
#define SG_MLKEM768_SS_LEN 32    /* shared secret */
#define SG_MLKEM768_SEED_LEN 64  /* d || z, the key-generation seed */
#define SG_MLKEM768_MSG_LEN 32   /* m, the encapsulation randomness */

/* ML-KEM.KeyGen_internal(d, z) (Alg. 16) with seed = d || z. The seed is
 * the compact form of the private key: the same seed always gives the same
 * (ek, dk).
 * Errors: SG_ERR_INVAL (NULL argument). */
SG_API int sg_mlkem768_keypair(uint8_t ek[SG_MLKEM768_EK_LEN],
			       uint8_t dk[SG_MLKEM768_DK_LEN],
			       const uint8_t seed[SG_MLKEM768_SEED_LEN]);

/* Checks ek (section 7.2) and then runs ML-KEM.Encaps_internal(ek, m)
 * (Alg. 17), writing the ciphertext and the shared secret. m must be 32
 * fresh random bytes. On error ct and ss are zeroed.
 * Errors: SG_ERR_INVAL (NULL argument), SG_ERR_KEY (ek fails the modulus
 * check). */
SG_API int sg_mlkem768_encaps(uint8_t ct[SG_MLKEM768_CT_LEN],
			      uint8_t ss[SG_MLKEM768_SS_LEN],
			      const uint8_t ek[SG_MLKEM768_EK_LEN],
			      const uint8_t m[SG_MLKEM768_MSG_LEN]);

/* Checks dk (the hash check of section 7.3) and then runs
 * ML-KEM.Decaps_internal(dk, ct) (Alg. 18). A ciphertext that does not
 * re-encrypt to itself is not an error: ss is then the implicit-rejection
 * key J(z || ct), chosen without a branch. On error ss is zeroed.
 * Errors: SG_ERR_INVAL (NULL argument), SG_ERR_KEY (H(ek) stored in dk does
 * not match ek). */
SG_API int sg_mlkem768_decaps(uint8_t ss[SG_MLKEM768_SS_LEN],
			      const uint8_t ct[SG_MLKEM768_CT_LEN],
			      const uint8_t dk[SG_MLKEM768_DK_LEN]);

/* Encapsulation key check (section 7.2): the length is 1184 and every
 * 12-bit coefficient of the encoded vector t-hat is below q = 3329.
 * Returns 0 or SG_ERR_KEY (also for a wrong length or NULL). */
SG_API int sg_mlkem768_check_ek(const uint8_t *ek, size_t ek_len);

/* Decapsulation key check (section 7.3): the length is 2400 and the stored
 * H(ek) equals SHA3-256 of the embedded ek. Returns 0 or SG_ERR_KEY (also
 * for a wrong length or NULL). */
SG_API int sg_mlkem768_check_dk(const uint8_t *dk, size_t dk_len);

#endif

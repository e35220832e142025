/* The constants of the vector exp and log (Cephes expf and logf polynomials
 * with range reduction), shared by every SIMD width so all paths compute
 * the same function. */
#ifndef DMMP_SIMD_ACT_POLY_H
#define DMMP_SIMD_ACT_POLY_H

#define ACT_LOG2E 1.44269504088896341f   /* 1 / ln 2 */
#define ACT_LN2_HI 0.693359375f          /* ln 2 split: a short high part (n * hi exact) */
#define ACT_LN2_LO (-2.12194440e-4f)     /* and the low correction */
#define ACT_SQRT_HALF 0.707106781186547524f

/* e^r - 1 - r = r^2 (P0 + P1 r + ... + P5 r^5), |r| <= ln2 / 2; Horner from P5. */
#define ACT_EXP_P5 1.9875691500e-4f
#define ACT_EXP_P4 1.3981999507e-3f
#define ACT_EXP_P3 8.3334519073e-3f
#define ACT_EXP_P2 4.1665795894e-2f
#define ACT_EXP_P1 1.6666665459e-1f
#define ACT_EXP_P0 5.0000001201e-1f

/* log(1 + m) = m - m^2 / 2 + m^3 (Q0 + Q1 m + ... + Q8 m^8); Horner from Q8. */
#define ACT_LOG_Q8 7.0376836292e-2f
#define ACT_LOG_Q7 (-1.1514610310e-1f)
#define ACT_LOG_Q6 1.1676998740e-1f
#define ACT_LOG_Q5 (-1.2420140846e-1f)
#define ACT_LOG_Q4 1.4249322787e-1f
#define ACT_LOG_Q3 (-1.6668057665e-1f)
#define ACT_LOG_Q2 2.0000714765e-1f
#define ACT_LOG_Q1 (-2.4999993993e-1f)
#define ACT_LOG_Q0 3.3333331174e-1f

#endif

// Upper bounds from RFC 5280 Appendix A that other layers must respect too (no imports: the
// validation schemas that forms use in the browser read these).

/** ub-common-name and ub-organization-name: a device name becomes the certificate CN, so it can be no longer. */
export const UB_COMMON_NAME = 64;

"""The report layer: results -> tables, glued numbers, verdicts (`ntkbook.claims.Verdict`) and figures.

One module per chapter (`gram_kernel`, `spectral`, `ntk_distance`, `malleability`, ...), each exposing
`claim_verdicts(profile="default") -> list[Verdict]`, which reads the chapter's results through the result cache
(`ntkbook.cache.cached_frame`, cheap after the chapter ran) and applies the rules of `ntkbook.claims`; and
`claims`, which collects every chapter's verdicts for the "Claims at a glance" page. Wording lives here and in
the notebooks; computation modules (`ntkbook.experiments`, ...) return numbers only, and the paper's numbers come
from `ntkbook.paper`.
"""

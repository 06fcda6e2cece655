# Reference estimates from R's survey package on its shipped `api` data (apistrat, apiclus1,
# apiclus2), for tests/test_surveys_api.py. Usage: Rscript api_reference.R OUTDIR
# Writes OUTDIR/<dataset>.csv (the data, as R ships it) and OUTDIR/reference.json (the estimates).
suppressMessages({library(survey); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- args[[1]]
data(api)
rows <- list()
add <- function(...) rows[[length(rows) + 1]] <<- list(...)
num <- function(x) if (is.null(x) || length(x) == 0) NA else unname(as.numeric(x))

estimate_all <- function(dataset, label, des, total_var, ratio_num, ratio_den, rule) {
  f <- function(v) as.formula(paste0("~", v))
  for (v in c("api00", "meals")) {
    m <- svymean(f(v), des, deff = TRUE)
    add(dataset = dataset, design = label, rule = rule, statistic = "mean", variable = v, group = "",
        value = num(coef(m)), se = num(SE(m)), deff = num(deff(m)))
  }
  t <- svytotal(f(total_var), des, deff = TRUE)
  add(dataset = dataset, design = label, rule = rule, statistic = "total", variable = total_var, group = "",
      value = num(coef(t)), se = num(SE(t)), deff = num(deff(t)))
  r <- svyratio(f(ratio_num), f(ratio_den), des)
  add(dataset = dataset, design = label, rule = rule, statistic = "ratio", variable = paste0(ratio_num, "/", ratio_den),
      group = "", value = num(coef(r)), se = num(SE(r)))
  p <- svyciprop(~I(sch.wide == "Yes"), des, method = "logit")
  pm <- svymean(~I(as.numeric(sch.wide == "Yes")), des, deff = TRUE)
  ci <- attr(p, "ci")
  add(dataset = dataset, design = label, rule = rule, statistic = "proportion", variable = "sch.wide=Yes", group = "",
      value = num(p), se = num(sqrt(attr(p, "var"))), deff = num(deff(pm)), ci_low = num(ci[1]), ci_high = num(ci[2]),
      df = num(degf(des)))
  # domains, the full design kept (svyby subsets the design, keeping its PSU counts)
  bm <- svyby(~api00, ~stype, des, svymean, deff = TRUE)
  bt <- svyby(f(total_var), ~stype, des, svytotal, deff = TRUE)
  br <- svyby(f(ratio_num), ~stype, des, svyratio, denominator = f(ratio_den))
  for (i in seq_len(nrow(bm))) {
    g <- as.character(bm$stype[i])
    add(dataset = dataset, design = label, rule = rule, statistic = "mean", variable = "api00", group = g,
        value = num(coef(bm)[i]), se = num(SE(bm)[i]), deff = num(deff(bm)[i]))
    add(dataset = dataset, design = label, rule = rule, statistic = "total", variable = total_var, group = g,
        value = num(coef(bt)[i]), se = num(SE(bt)[i]), deff = num(deff(bt)[i]))
    add(dataset = dataset, design = label, rule = rule, statistic = "ratio",
        variable = paste0(ratio_num, "/", ratio_den), group = g, value = num(coef(br)[i]), se = num(SE(br)[i]))
    sub <- subset(des, stype == g)
    p <- svyciprop(~I(sch.wide == "Yes"), sub, method = "logit")
    ci <- attr(p, "ci")
    add(dataset = dataset, design = label, rule = rule, statistic = "proportion", variable = "sch.wide=Yes", group = g,
        value = num(p), se = num(sqrt(attr(p, "var"))), ci_low = num(ci[1]), ci_high = num(ci[2]), df = num(degf(sub)))
  }
}

designs <- list(
  list("apistrat", "strata=stype", function() svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat),
       "enroll", "api.stu", "enroll"),
  list("apistrat", "strata=stype,fpc", function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc,
       data = apistrat), "enroll", "api.stu", "enroll"),
  list("apiclus1", "psu=dnum", function() svydesign(id = ~dnum, weights = ~pw, data = apiclus1),
       "enroll", "api.stu", "enroll"),
  list("apiclus1", "psu=dnum,fpc", function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
       "enroll", "api.stu", "enroll"),
  list("apiclus2", "psu=dnum", function() svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2),
       "api.stu", "api00", "api99"),
  list("apistrat", "strata=cname,psu=dnum", function() svydesign(id = ~dnum, strata = ~cname, weights = ~pw,
       data = apistrat, nest = TRUE), "enroll", "api.stu", "enroll")
)
for (d in designs) {
  rules <- if (d[[2]] == "strata=cname,psu=dnum") c("remove", "adjust", "average", "fail") else c("fail")
  for (rule in rules) {
    options(survey.lonely.psu = rule)
    res <- tryCatch({ estimate_all(d[[1]], d[[2]], d[[3]](), d[[4]], d[[5]], d[[6]], rule); "ok" },
                    error = function(e) conditionMessage(e))
    if (res != "ok") add(dataset = d[[1]], design = d[[2]], rule = rule, statistic = "error", variable = res, group = "")
  }
}
write.csv(apistrat, file.path(out, "apistrat.csv"), row.names = FALSE)
write.csv(apiclus1, file.path(out, "apiclus1.csv"), row.names = FALSE)
write.csv(apiclus2, file.path(out, "apiclus2.csv"), row.names = FALSE)
writeLines(toJSON(rows, auto_unbox = TRUE, digits = NA, na = "null"), file.path(out, "reference.json"))

# Reference SDG 11.1.1 estimates from R's survey package on the SYNTHETIC DHS-like household file
# of habmon.surveys.synthetic, for tests/test_surveys_dhs.py. Usage: Rscript dhs_reference.R FILE.csv OUT.json
# The slum classification is written here again, independently of habmon's recipe engine, from the
# recipe's code lists (src/habmon/data/surveys/recipes/11.1.1.yaml).
suppressMessages({library(survey); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
h <- read.csv(args[[1]])
cls <- function(x, good, bad) ifelse(x %in% good, 0, ifelse(x %in% bad, 1, NA))  # 1 = deprived
water <- cls(h$hv201, c(11, 12, 13, 14, 21, 31, 41, 51, 61, 62, 71, 72), c(32, 42, 43))
toilet <- cls(h$hv205, c(11, 12, 13, 15, 21, 22, 41), c(14, 23, 31, 42, 43))
crowded <- ifelse(h$hv009 > 3 * h$hv216, 1, 0)
floor <- cls(h$hv213, 31:35, c(11, 12, 21, 22))
wall <- cls(h$hv214, 31:36, c(11:13, 21:26))
roof <- cls(h$hv215, 31:36, c(11:13, 21:24))
nondurable <- pmax(floor, wall, roof, na.rm = FALSE)
nondurable[floor %in% 1 | wall %in% 1 | roof %in% 1] <- 1
parts <- cbind(water, toilet, crowded, nondurable)
h$slum <- ifelse(rowSums(parts == 1, na.rm = TRUE) > 0, 1, ifelse(rowSums(is.na(parts)) > 0, NA, 0))
h$pw <- h$hv005 / 1e6 * h$hv009  # persons: household weight × members
rows <- list()
num <- function(x) unname(as.numeric(x))
for (rule in c("remove", "adjust", "average", "fail")) {
  options(survey.lonely.psu = rule)
  des <- svydesign(id = ~hv001, strata = ~hv022, weights = ~pw, data = h, nest = TRUE)
  ok <- subset(des, !is.na(slum))
  urban <- subset(des, !is.na(slum) & hv025 == 1)
  out <- tryCatch({
    res <- list()
    one <- function(d, groups) {
      m <- svymean(~slum, d, deff = TRUE)
      p <- svyciprop(~slum, d, method = "logit")
      ci <- attr(p, "ci")
      list(groups = groups, value = num(coef(m)), se = num(SE(m)), deff = num(deff(m)),
           ci_low = num(ci[1]), ci_high = num(ci[2]), n = nrow(d), df = degf(d))
    }
    res[[length(res) + 1]] <- one(urban, list())  # 11.1.1: the urban population
    for (r in sort(unique(h$hv024))) res[[length(res) + 1]] <- one(subset(urban, hv024 == r), list(region = r))
    for (u in 1:2) res[[length(res) + 1]] <- one(subset(ok, hv025 == u), list(urban = u))
    for (u in 1:2) for (r in sort(unique(h$hv024)))
      res[[length(res) + 1]] <- one(subset(ok, hv025 == u & hv024 == r), list(urban = u, region = r))
    res
  }, error = function(e) conditionMessage(e))
  rows[[rule]] <- out
}
writeLines(toJSON(rows, auto_unbox = TRUE, digits = NA, na = "null"), args[[2]])

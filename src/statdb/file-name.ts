/** The accounting file's name at the pool root (upstream's). Its own module so neither reader loads the other. */
export const STAT_DB_FILE = "stat.db";

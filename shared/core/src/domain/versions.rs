//! Documents kept as numbered versions (the org directory, the case rules):
//! 1, 2, 3…, each saved only on top of the one before it, so that two people
//! saving at the same moment cannot both win. 0 is "nothing saved yet".

/// The number the next save gets.
pub fn next(current: u32) -> u32 {
    current + 1
}

/// Whether `version` may be saved over `current` (it is the next one).
pub fn follows(version: u32, current: u32) -> bool {
    version == next(current)
}

/// The version a save of `version` replaces (0: none).
pub fn replaced_by(version: u32) -> u32 {
    version.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_stands_on_the_one_before() {
        assert_eq!(next(0), 1);
        assert!(follows(1, 0) && follows(4, 3));
        assert!(!follows(3, 3) && !follows(5, 3));
        assert_eq!(replaced_by(1), 0);
        assert_eq!(replaced_by(0), 0);
        assert_eq!(replaced_by(next(7)), 7);
    }
}

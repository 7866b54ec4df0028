//! The five levels (mức độ) and the predefined reasons (lý do) a business picks from.

use serde::{Deserialize, Serialize};

use super::declaration::Language;

/// 5 Rất hài lòng … 1 Rất không hài lòng.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Level(u8);

impl Level {
    /// From best to worst, the order the form shows them in.
    pub const ALL: [Level; 5] = [Level(5), Level(4), Level(3), Level(2), Level(1)];

    pub fn new(n: u8) -> Option<Level> {
        (1..=5).contains(&n).then_some(Level(n))
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// Levels 1–2 open a complaint.
    pub fn is_low(self) -> bool {
        self.0 <= 2
    }

    /// Levels 4–5 count as "satisfied" in the statistics.
    pub fn is_satisfied(self) -> bool {
        self.0 >= 4
    }

    pub fn label(self, lang: Language) -> &'static str {
        match (self.0, lang) {
            (5, Language::Vi) => "Rất hài lòng",
            (4, Language::Vi) => "Hài lòng",
            (3, Language::Vi) => "Bình thường",
            (2, Language::Vi) => "Không hài lòng",
            (_, Language::Vi) => "Rất không hài lòng",
            (5, Language::En) => "Very satisfied",
            (4, Language::En) => "Satisfied",
            (3, Language::En) => "Normal",
            (2, Language::En) => "Dissatisfied",
            (_, Language::En) => "Very dissatisfied",
        }
    }
}

impl TryFrom<u8> for Level {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        Level::new(n).ok_or_else(|| format!("level must be 1 to 5, not {n}"))
    }
}

impl From<Level> for u8 {
    fn from(l: Level) -> u8 {
        l.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    Positive,
    Negative,
}

/// Predefined reasons. Negative ones make a complaint whatever the level; the
/// misconduct ones route it to the inspection unit instead of the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Professional,
    Fast,
    Helpful,
    ClearGuidance,
    Transparent,
    Delay,
    ProfessionalError,
    UnclearGuidance,
    Attitude,
    CausingTrouble,
    Harassment,
    Misconduct,
}

impl Reason {
    pub const ALL: [Reason; 12] = [
        Reason::Professional,
        Reason::Fast,
        Reason::Helpful,
        Reason::ClearGuidance,
        Reason::Transparent,
        Reason::Delay,
        Reason::ProfessionalError,
        Reason::UnclearGuidance,
        Reason::Attitude,
        Reason::CausingTrouble,
        Reason::Harassment,
        Reason::Misconduct,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::Professional => "professional",
            Reason::Fast => "fast",
            Reason::Helpful => "helpful",
            Reason::ClearGuidance => "clear_guidance",
            Reason::Transparent => "transparent",
            Reason::Delay => "delay",
            Reason::ProfessionalError => "professional_error",
            Reason::UnclearGuidance => "unclear_guidance",
            Reason::Attitude => "attitude",
            Reason::CausingTrouble => "causing_trouble",
            Reason::Harassment => "harassment",
            Reason::Misconduct => "misconduct",
        }
    }

    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn polarity(self) -> Polarity {
        match self {
            Reason::Professional
            | Reason::Fast
            | Reason::Helpful
            | Reason::ClearGuidance
            | Reason::Transparent => Polarity::Positive,
            _ => Polarity::Negative,
        }
    }

    /// Phiền hà, sách nhiễu, tiêu cực: never handled by the officer's own team.
    pub fn is_misconduct(self) -> bool {
        matches!(
            self,
            Reason::CausingTrouble | Reason::Harassment | Reason::Misconduct
        )
    }

    /// Positive reasons fit levels 3–5, negative ones 1–3: "normal" may go either way.
    pub fn fits(self, level: Level) -> bool {
        match self.polarity() {
            Polarity::Positive => level.value() >= 3,
            Polarity::Negative => level.value() <= 3,
        }
    }

    pub fn label(self, lang: Language) -> &'static str {
        match lang {
            Language::Vi => match self {
                Reason::Professional => "Chuyên nghiệp, đúng quy trình",
                Reason::Fast => "Nhanh chóng, đúng hẹn",
                Reason::Helpful => "Tận tình, chu đáo",
                Reason::ClearGuidance => "Hướng dẫn rõ ràng, dễ hiểu",
                Reason::Transparent => "Công khai, minh bạch",
                Reason::Delay => "Chậm trễ",
                Reason::ProfessionalError => "Sai sót nghiệp vụ",
                Reason::UnclearGuidance => "Hướng dẫn không rõ ràng",
                Reason::Attitude => "Thái độ không đúng mực",
                Reason::CausingTrouble => "Gây phiền hà",
                Reason::Harassment => "Sách nhiễu",
                Reason::Misconduct => "Tiêu cực",
            },
            Language::En => match self {
                Reason::Professional => "Professional, by the book",
                Reason::Fast => "Fast, on time",
                Reason::Helpful => "Helpful and attentive",
                Reason::ClearGuidance => "Clear guidance",
                Reason::Transparent => "Open and transparent",
                Reason::Delay => "Delay",
                Reason::ProfessionalError => "Professional error",
                Reason::UnclearGuidance => "Unclear guidance",
                Reason::Attitude => "Improper attitude",
                Reason::CausingTrouble => "Causing trouble",
                Reason::Harassment => "Harassment",
                Reason::Misconduct => "Misconduct or corruption",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_one_to_five() {
        assert!(Level::new(0).is_none());
        assert!(Level::new(6).is_none());
        assert!(Level::new(1).unwrap().is_low());
        assert!(!Level::new(3).unwrap().is_low());
        assert!(Level::new(4).unwrap().is_satisfied());
        assert!(!Level::new(3).unwrap().is_satisfied());
        assert!(serde_json::from_str::<Level>("7").is_err());
        assert_eq!(
            serde_json::from_str::<Level>("5")
                .unwrap()
                .label(Language::Vi),
            "Rất hài lòng"
        );
    }

    #[test]
    fn reasons_fit_their_levels() {
        let five = Level::new(5).unwrap();
        let three = Level::new(3).unwrap();
        let one = Level::new(1).unwrap();
        assert!(Reason::Fast.fits(five) && Reason::Fast.fits(three) && !Reason::Fast.fits(one));
        assert!(Reason::Delay.fits(one) && Reason::Delay.fits(three) && !Reason::Delay.fits(five));
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(r));
            if r.is_misconduct() {
                assert_eq!(r.polarity(), Polarity::Negative);
            }
        }
    }
}

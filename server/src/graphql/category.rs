//! Service categories: the `ServiceCategory` enum (the stable codes the app switches on) and the
//! `Category` tree with labels, icons and plain-language descriptions.

use std::sync::Arc;

use async_graphql::{Enum, Object};

use super::common::Language;
use crate::directory::Directory;
use crate::directory::index::TermIdx;

/// Declares `ServiceCategory` and its mapping to taxonomy codes in one place.
macro_rules! service_categories {
    ($($(#[$meta:meta])* $variant:ident = $code:literal,)*) => {
        /// A service category. Searching a category also finds its sub-categories
        /// (see `Category.children`).
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum ServiceCategory {
            $($(#[$meta])* $variant,)*
        }

        impl ServiceCategory {
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The taxonomy code (`taxonomy_term.code`).
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

service_categories! {
    /// Legal aid (法律援助).
    LegalAid = "LEGAL_AID",
    /// Labour dispute mediation (劳动争议调解); under LEGAL_AID.
    LabourDispute = "LABOUR_DISPUTE",
    /// Education (教育).
    Education = "EDUCATION",
    /// Schools (学校); under EDUCATION.
    School = "SCHOOL",
    /// Schools for migrant children (随迁子女学校); under SCHOOL.
    MigrantChildrenSchool = "MIGRANT_CHILDREN_SCHOOL",
    /// Tutoring (课业辅导); under EDUCATION.
    Tutoring = "TUTORING",
    /// Libraries (图书馆); under EDUCATION.
    Library = "LIBRARY",
    /// Health (健康医疗).
    Health = "HEALTH",
    /// Maternal and child health (妇幼保健); under HEALTH.
    MaternalHealth = "MATERNAL_HEALTH",
    /// Employment (就业).
    Employment = "EMPLOYMENT",
    /// Social insurance (社会保险); under EMPLOYMENT.
    SocialInsurance = "SOCIAL_INSURANCE",
    /// Job training (技能培训); under EMPLOYMENT.
    JobTraining = "JOB_TRAINING",
    /// Community activities (社区活动).
    Community = "COMMUNITY",
    /// Volunteer groups (志愿者组织); under COMMUNITY.
    VolunteerGroup = "VOLUNTEER_GROUP",
    /// Support groups (互助小组); under COMMUNITY.
    SupportGroup = "SUPPORT_GROUP",
    /// Recreation (文体活动); under COMMUNITY.
    Recreation = "RECREATION",
    /// Family support (家庭支持).
    Family = "FAMILY",
    /// Youth services (青少年服务); under FAMILY.
    Youth = "YOUTH",
    /// Women's services (妇女服务); under FAMILY.
    Women = "WOMEN",
    /// Services for older people (长者服务); under FAMILY.
    Seniors = "SENIORS",
    /// Parenting support (家长支持); under FAMILY.
    Parenting = "PARENTING",
    /// Casework (个案服务); under FAMILY.
    Casework = "CASEWORK",
}

/// A category with its labels, in the directory's tree.
pub struct Category {
    pub directory: Arc<Directory>,
    pub term: TermIdx,
    pub language: Language,
}

impl Category {
    fn term(&self) -> &crate::directory::index::Term {
        &self.directory.taxonomy.terms[self.term]
    }

    fn wrap(&self, term: TermIdx) -> Category {
        Category { directory: self.directory.clone(), term, language: self.language }
    }
}

/// A category with its labels, in the directory's tree.
#[Object]
impl Category {
    /// The category's code.
    async fn code(&self) -> Option<ServiceCategory> {
        ServiceCategory::from_code(&self.term().code)
    }

    /// Label in the requested language.
    async fn name(&self) -> &str {
        let term = self.term();
        self.language.pick(&term.name_zh, &term.name_en)
    }

    /// One plain-language line saying what the category holds, for readers with little schooling.
    async fn description(&self) -> &str {
        let term = self.term();
        self.language.pick(&term.description_zh, &term.description_en)
    }

    /// Icon name (a Lucide-style glyph name) the app maps to an image.
    async fn icon(&self) -> Option<&str> {
        self.term().icon.as_deref()
    }

    /// The parent category, if any.
    async fn parent(&self) -> Option<Category> {
        self.term().parent.map(|parent| self.wrap(parent))
    }

    /// Sub-categories; searching this category finds them too.
    async fn children(&self) -> Vec<Category> {
        self.term().children.iter().map(|child| self.wrap(*child)).collect()
    }
}

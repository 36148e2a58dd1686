//! Scenarios: the conformance catalogue as data (format: scenarios/conformance/README.md).

mod load;
mod model;

pub(crate) use load::FLAT_GIVEN_KEYS;
pub use load::{LoadError, builtin_dir, check_dirs, load_dirs, load_file};
pub use model::{
    AppGiven, Case, ClockGiven, CookieExpectation, DataFate, Deviation, Expect, ExpectedCall,
    Given, HttpRequest, Step, StepExpect, StepOp, WaitFor,
};

// Polynomials in x and y mod p (docs/algorithms.md 1.2, issue 8): a recursive-descent parser
// that builds an expression tree, evaluated mod p for every pair (x, y).
//
// Grammar (whitespace ignored; a, b are aliases of x, y; juxtaposition multiplies: "2xy"):
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*')? unary)*
//   unary   := ('-' | '+') unary | power
//   power   := primary ('^' integer)?        a non-negative integer literal exponent
//   primary := integer | 'x' | 'y' | '(' expr ')'
#include <cctype>

#include "data/data.h"

namespace rfm {

namespace {

constexpr int64_t kMaxLiteral = 1000000000;  // numbers and exponents: at most 1e9

// The parser: a cursor over the text and the tree it appends to.
class Parser {
 public:
  Parser(const std::string& text, std::vector<Polynomial::Node>& nodes)
      : text_(text), nodes_(nodes) {}

  int parse() {
    const int root = expr();
    skip_space();
    if (pos_ < text_.size()) fail("unexpected '%c'", text_[pos_]);
    return root;
  }

 private:
  const std::string& text_;
  std::vector<Polynomial::Node>& nodes_;
  size_t pos_ = 0;

  template <typename... Args>
  [[noreturn]] void fail(const char* what, Args... args) {
    throw InputError(strfmt("malformed polynomial '%s': %s at position %zu", text_.c_str(),
                            strfmt(what, args...).c_str(), pos_ + 1));
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  int add(char kind, int lhs, int rhs, int64_t value = 0) {
    nodes_.push_back({kind, value, lhs, rhs});
    return static_cast<int>(nodes_.size()) - 1;
  }
  static bool starts_primary(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == 'x' || c == 'y' || c == 'a' ||
           c == 'b' || c == '(';
  }

  int expr() {
    int lhs = term();
    for (char c = peek(); c == '+' || c == '-'; c = peek()) {
      ++pos_;
      lhs = add(c, lhs, term());
    }
    return lhs;
  }

  int term() {
    int lhs = unary();
    for (char c = peek(); c == '*' || starts_primary(c); c = peek()) {
      if (c == '*') ++pos_;
      lhs = add('*', lhs, unary());
    }
    return lhs;
  }

  int unary() {
    const char c = peek();
    if (c == '-' || c == '+') {
      ++pos_;
      const int operand = unary();
      return c == '-' ? add('u', operand, -1) : operand;
    }
    return power();
  }

  int power() {
    const int base = primary();
    if (peek() != '^') return base;
    ++pos_;
    if (!std::isdigit(static_cast<unsigned char>(peek())))
      fail("the exponent must be a non-negative integer, not '%s'",
           pos_ < text_.size() ? std::string(1, text_[pos_]).c_str() : "end of text");
    const int node = add('^', base, -1, integer());
    if (peek() == '^') fail("write (x^a)^b instead of a chained power");
    return node;
  }

  int64_t integer() {
    int64_t v = 0;
    const size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      v = v * 10 + (text_[pos_++] - '0');
      if (v > kMaxLiteral) {
        pos_ = start;
        fail("the number is larger than %lld", static_cast<long long>(kMaxLiteral));
      }
    }
    return v;
  }

  int primary() {
    const char c = peek();
    if (std::isdigit(static_cast<unsigned char>(c))) return add('n', -1, -1, integer());
    if (c == 'x' || c == 'a' || c == 'y' || c == 'b') {
      ++pos_;
      return add(c == 'x' || c == 'a' ? 'x' : 'y', -1, -1);
    }
    if (c == '(') {
      ++pos_;
      const int inner = expr();
      if (peek() != ')') fail("expected ')'");
      ++pos_;
      return inner;
    }
    if (c == '\0') fail("unexpected end of the expression");
    fail("unexpected '%c' (expected a number, x, y or '(')", c);
  }
};

int64_t eval_node(const std::vector<Polynomial::Node>& nodes, int i, int64_t x, int64_t y, int p) {
  const Polynomial::Node& n = nodes[i];
  auto sub = [&](int j) { return eval_node(nodes, j, x, y, p); };
  switch (n.kind) {
    case 'n':
      return n.value % p;
    case 'x':
      return x;
    case 'y':
      return y;
    case '+':
      return (sub(n.lhs) + sub(n.rhs)) % p;
    case '-':
      return (sub(n.lhs) - sub(n.rhs) + p) % p;
    case '*':
      return sub(n.lhs) * sub(n.rhs) % p;
    case 'u':
      return (p - sub(n.lhs)) % p;
    case '^': {
      // mod_pow(0, 0) = 1: x^0 is the constant 1, as for polynomials.
      return mod_pow(static_cast<int>(sub(n.lhs)), static_cast<int>(n.value), p);
    }
  }
  RFM_ASSERT(false);
  return 0;
}

}  // namespace

Polynomial::Polynomial(const std::string& text) : text_(text) {
  RFM_CHECK(!text.empty(), "malformed polynomial '': empty expression at position 1");
  Parser parser(text_, nodes_);
  root_ = parser.parse();
}

int Polynomial::eval(int x, int y, int p) const {
  RFM_ASSERT(p >= 2 && root_ >= 0);  // p is an int: products of residues fit int64
  return static_cast<int>(eval_node(nodes_, root_, ((x % p) + p) % p, ((y % p) + p) % p, p));
}

Dataset make_polynomial_task(const std::string& expr, int p) {
  const Polynomial f(expr);
  RFM_CHECK(p >= 2 && p <= 100000, "--p %d is out of range (2..100000)", p);
  RFM_CHECK(is_prime(p), "--p %d is not prime (polynomial tasks work in the field Z_p)", p);
  return make_pair_task(expr, p, 0,
                        [&](int a, int b) { return PairExample{a, b, f.eval(a, b, p)}; });
}

}  // namespace rfm
